-- tools/bench runs this before it EXPLAINs the list queries. The load steps leave the small
-- tables (users, accounts, login attempts, tags, bookmarks, Stripe customers) with a few
-- hundred rows, where a sequential scan of a page or two is the planner's right answer and
-- says nothing about production. Here each grows to a size a running suite reaches, so every
-- plan is chosen where the choice matters. Synthetic rows only (e-mails @fill.bench.test,
-- keys fill-*); the bench's database is thrown away afterwards. The role catalogue grows too:
-- the migration seeds 3 roles, one heap page, where a scan is right and EXPLAIN says nothing,
-- but CreateRole lets a deployment define its own (one per feature or team), and ListRoles pages
-- them by key; from about 100 roles on, the planner pages through the key index.
\set ON_ERROR_STOP on

INSERT INTO identity.users (email, status, created_at)
SELECT 'fill-' || g || '@fill.bench.test',
       CASE WHEN g % 50 = 0 THEN 'suspended' ELSE 'active' END,
       now() - g * interval '1 minute'
FROM generate_series(1, 100000) g;

INSERT INTO identity.accounts (name, created_at)
SELECT 'fill account ' || g, now() - g * interval '1 minute'
FROM generate_series(1, 20000) g;

-- Ten attempts per minute over two weeks, from 250 × 250 addresses, one in ten failed.
INSERT INTO identity.login_attempts (email, ip, success, failure_reason, created_at)
SELECT 'fill-' || (g % 100000) || '@fill.bench.test',
       '10.' || (g % 250) || '.' || (g / 250 % 250) || '.1',
       g % 10 <> 0,
       CASE WHEN g % 10 = 0 THEN 'invalid_credentials' END,
       now() - g * interval '6 seconds'
FROM generate_series(1, 200000) g;

INSERT INTO identity.roles (key, label)
SELECT 'fill_role_' || g, 'Fill role ' || g
FROM generate_series(1, 200) g;

INSERT INTO questions.tags (kind, slug, label)
SELECT (enum_range(NULL::questions.tag_kind))[1 + g % 5], 'fill-' || g, 'Fill ' || g
FROM generate_series(1, 20000) g;

-- 2 000 readers with 50 bookmarks each, on the bank's questions.
INSERT INTO questions.bookmarks (user_id, question_id, created_at)
SELECT reader.id, q.id, now() - (reader.n * 50 + q.n) * interval '1 minute'
FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(1, 2000) n) reader
CROSS JOIN LATERAL (
  SELECT id, row_number() OVER () AS n
  FROM questions.questions
  WHERE deleted_at IS NULL
  OFFSET (reader.n * 37) % 5000
  LIMIT 50) q;

INSERT INTO billing.stripe_customers (stripe_customer_id, user_id)
SELECT 'cus_fill_' || g, gen_random_uuid()
FROM generate_series(1, 50000) g;

VACUUM ANALYZE identity.users, identity.accounts, identity.login_attempts, identity.roles,
  questions.tags, questions.bookmarks, billing.stripe_customers;

SELECT 'identity.users ' || count(*) FROM identity.users
UNION ALL SELECT 'identity.accounts ' || count(*) FROM identity.accounts
UNION ALL SELECT 'identity.login_attempts ' || count(*) FROM identity.login_attempts
UNION ALL SELECT 'identity.roles ' || count(*) FROM identity.roles
UNION ALL SELECT 'questions.tags ' || count(*) FROM questions.tags
UNION ALL SELECT 'questions.bookmarks ' || count(*) FROM questions.bookmarks
UNION ALL SELECT 'billing.stripe_customers ' || count(*) FROM billing.stripe_customers;
