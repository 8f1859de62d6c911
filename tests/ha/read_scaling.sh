#!/usr/bin/env bash
# Measures whether reading from the synchronous standby pays on this machine: the read RPCs'
# statements (GetQuestion: one question and its choices by id; ListQuestions: the newest page
# of published questions and their choices) under pgbench, first all on the primary, then
# split between primary and standby with the same number of clients, while a steady writer
# runs on the primary; also the standby's replay lag meanwhile (the staleness a standby read
# would have).
#
#   tests/ha/read_scaling.sh [SECONDS]     (default 20 per run; needs tools/install-ha)
#
# Brings up its own pair under a temporary directory (tools/pg-ha) and removes it at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
clients=8
work=$(mktemp -d /tmp/read-scaling.XXXXXX)
chmod 755 "$work"
trap 'tools/pg-ha stop "$work/ha" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 11000))
tools/pg-ha start "$work/ha" "$port" >/dev/null
primary="postgresql://postgres@127.0.0.1:$((port + 1))/postgres"
standby="postgresql://postgres@127.0.0.1:$((port + 2))/postgres"

psql -X -q -v ON_ERROR_STOP=1 "$primary" <<'SQL'
CREATE TABLE questions (id bigint PRIMARY KEY, stem text NOT NULL, status text NOT NULL,
                        published_at timestamptz);
CREATE TABLE choices (question_id bigint NOT NULL, position int NOT NULL, text text NOT NULL,
                      is_correct boolean NOT NULL, PRIMARY KEY (question_id, position));
CREATE INDEX ON questions (published_at DESC, id DESC) WHERE status = 'published';
INSERT INTO questions SELECT g, repeat('stem ', 40) || g, 'published', now() - g * interval '1 s'
FROM generate_series(1, 50000) g;
INSERT INTO choices SELECT q, p, 'choice ' || p, p = 1 FROM generate_series(1, 50000) q,
generate_series(1, 4) p;
CREATE TABLE writes (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), body text);
ANALYZE;
SQL
cat >"$work/read.sql" <<'SQL'
\set id random(1, 50000)
SELECT id, stem, status FROM questions WHERE id = :id;
SELECT position, text, is_correct FROM choices WHERE question_id = :id ORDER BY position;
SELECT q.id, q.stem FROM questions q WHERE q.status = 'published'
  ORDER BY q.published_at DESC, q.id DESC LIMIT 21;
SELECT question_id, position, text FROM choices
  WHERE question_id IN (SELECT id FROM questions WHERE status = 'published'
                        ORDER BY published_at DESC, id DESC LIMIT 21)
  ORDER BY question_id, position;
SQL
echo "INSERT INTO writes (body) VALUES (repeat('w', 200));" >"$work/write.sql"
# sleep for settling caches on both nodes
for url in "$primary" "$standby"; do pgbench -n -f "$work/read.sql" -c 2 -T 3 "$url" >/dev/null; done

tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$1" | head -1; }
writer() { pgbench -n -f "$work/write.sql" -c 1 -R 100 -T "$seconds" "$primary" >"$work/$1.write" 2>&1; }

# One primary for all reads.
writer a &
pgbench -n -f "$work/read.sql" -c $clients -j 2 -T "$seconds" "$primary" >"$work/a.p" 2>&1
wait
one=$(tps "$work/a.p")

# Half the readers on the standby; the replay lag sampled meanwhile.
writer b &
pgbench -n -f "$work/read.sql" -c $((clients / 2)) -j 1 -T "$seconds" "$primary" >"$work/b.p" 2>&1 &
pgbench -n -f "$work/read.sql" -c $((clients / 2)) -j 1 -T "$seconds" "$standby" >"$work/b.s" 2>&1 &
lags=()
for _ in $(seq $((seconds * 2 - 2))); do
  sleep 0.5
  lags+=("$(psql -X -At "$primary" -c "SELECT coalesce(extract(epoch FROM replay_lag) * 1000, 0)::int FROM pg_stat_replication")")
done
wait
p=$(tps "$work/b.p")
s=$(tps "$work/b.s")
max_lag=$(printf '%s\n' "${lags[@]}" | sort -n | tail -1)
echo "read_scaling: $clients readers (4 read statements each), ${seconds} s, writer 100/s on the primary, $(nproc) cores"
echo "read_scaling: all on the primary:        $one tps (write $(tps "$work/a.write") tps)"
echo "read_scaling: primary + standby:         $p + $s = $(awk "BEGIN{print $p + $s}") tps (write $(tps "$work/b.write") tps)"
echo "read_scaling: standby replay lag, max of $((seconds * 2 - 2)) samples: ${max_lag} ms"
