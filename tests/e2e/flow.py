"""The suite's main path, driven only through public doors (see suite_harness.py):

admin session → tag, questions, publish → a member signs up and logs in → exam refused without
a subscription → signed Stripe webhooks (customer, subscription, both carrying the member's
id) → customer linked and entitled → exam session → attempts (answers hidden) → end (score)
→ stats.

Flow.run() raises StepFailed naming the step that went wrong, and returns every secret value
the flow used or received (tests/logs greps the services' logs for them). Flow.operator_doors()
checks what an operator relies on: reflection, per-service health and the metrics.
"""
import json
import secrets
import time

from suite_harness import RpcError, StepFailed

QBS = "questions.v1.QuestionBankService/"
IDS = "identity.v1.IdentityService/"
BIS = "billing.v1.BillingService/"

# A card number in Luhn form and the last four digits Stripe would show; the full number must
# never reach a log (billing redacts everything but ids).
CARD_NUMBER = "4242424242424242"


def event(event_id, type_, obj, created):
    return json.dumps({"id": event_id, "object": "event", "type": type_, "created": created,
                       "livemode": False, "api_version": "2024-06-20", "data": {"object": obj}},
                      separators=(",", ":"))


class Flow:
    def __init__(self, suite, log=print):
        self.suite = suite
        self.log = log
        self.step_name = ""
        self.known_secrets = {}
        self.user_ids = {}  # "admin" / "member" / "other" -> user id

    def step(self, name):
        self.step_name = name
        self.log(f"e2e: step: {name}")

    def check(self, condition, what):
        if not condition:
            raise StepFailed(f"step '{self.step_name}': {what}")

    def call(self, svc, method, body, token=None, **kw):
        try:
            return self.suite.call(svc, method, body, token, **kw)
        except RpcError as e:
            raise StepFailed(f"step '{self.step_name}': {e}") from None

    def expect_code(self, code, svc, method, body, token=None):
        try:
            out = self.suite.call(svc, method, body, token)
        except RpcError as e:
            self.check(e.code == code, f"{method}: want {code}, got {e.code}: {e.message}")
            return
        raise StepFailed(f"step '{self.step_name}': {method}: want {code}, got OK: {out}")

    def run(self):
        s = self.suite
        self.known_secrets.update({
            "admin password": s.admin_password,
            "webhook secret": s.webhook_secret,
            **{f"{svc} page-token secret": v for svc, v in s.page_secrets.items()},
        })

        self.step("admin logs in")
        login = self.call("identity", IDS + "Login",
                          {"email": s.admin_email, "password": s.admin_password})
        admin = login.get("sessionToken", "")
        self.check(len(admin) >= 32, f"no session token in {login}")
        self.known_secrets["admin session token"] = admin
        self.user_ids["admin"] = login.get("userId", "")

        self.step("admin creates a tag and three questions, then publishes them")
        slug = f"e2e-{secrets.token_hex(3)}"
        tag = self.call("questions", QBS + "CreateTag",
                        {"kind": "TAG_KIND_TOPIC", "slug": slug, "label": "End to end"},
                        admin)["tag"]
        questions = []
        for i in range(3):
            q = self.call("questions", QBS + "CreateQuestion", {
                "stem": f"End-to-end question {i}: which choice is right?",
                "explanation": f"Choice A is right for question {i}.",
                "difficulty": "QUESTION_DIFFICULTY_MEDIUM",
                "choices": [{"text": "A", "isCorrect": True}, {"text": "B"}, {"text": "C"}],
                "tagIds": [tag["id"]],
                "externalKey": f"{slug}-{i}",
            }, admin)["question"]
            self.check(q.get("status") == "QUESTION_STATUS_DRAFT", f"new question not a draft: {q}")
            published = self.call("questions", QBS + "PublishQuestion", {"questionId": q["id"]},
                                  admin)["question"]
            self.check(published.get("status") == "QUESTION_STATUS_PUBLISHED",
                       f"not published: {published}")
            questions.append(published)
        correct = {q["id"]: next(c["id"] for c in q["choices"] if c.get("isCorrect"))
                   for q in questions}
        wrong = {q["id"]: next(c["id"] for c in q["choices"] if not c.get("isCorrect"))
                 for q in questions}

        self.step("a member signs up and logs in")
        email = f"member-{secrets.token_hex(4)}@e2e.example"
        password = "Member-" + secrets.token_urlsafe(16)
        self.known_secrets["member password"] = password
        user = self.call("identity", IDS + "CreateUser", {
            "email": email, "password": password, "firstName": "Mia", "lastName": "Member"})["user"]
        member_id = user["userId"]
        self.user_ids["member"] = member_id
        member = self.call("identity", IDS + "Login",
                           {"email": email, "password": password})["sessionToken"]
        self.known_secrets["member session token"] = member
        self.expect_code("unauthenticated", "identity", IDS + "Login",
                         {"email": email, "password": password + "-wrong"})

        self.step("without a subscription the member may not start an exam")
        self.expect_code("permission_denied", "questions", QBS + "StartPracticeSession",
                         {"mode": "PRACTICE_MODE_EXAM", "questionCount": 3}, member)
        ent = self.call("billing", BIS + "GetEntitlement", {"userId": member_id}, member)
        self.check(not ent["entitlement"].get("entitled"), f"entitled before paying: {ent}")

        self.step("a badly signed webhook is refused and changes nothing")
        now = int(time.time())
        customer_id = f"cus_e2e{secrets.token_hex(6)}"
        customer_event = event(f"evt_e2e{secrets.token_hex(8)}", "customer.created", {
            "id": customer_id, "object": "customer", "email": email, "name": "Mia Member",
            "phone": "+15555550123",
            "metadata": {"user_id": member_id, "card_number": CARD_NUMBER},
        }, now)
        forged = s.sign(customer_event).replace("v1=", "v1=00")
        self.known_secrets["forged webhook signature"] = forged.split("v1=")[1]
        status, body = s.post_webhook(customer_event, forged)
        self.check(status == 400, f"forged signature answered {status}: {body}")

        self.step("signed Stripe webhooks create the customer and an active subscription")
        signature = s.sign(customer_event)
        self.known_secrets["webhook signature"] = signature.split("v1=")[1]
        self.known_secrets["card number"] = CARD_NUMBER
        status, body = s.post_webhook(customer_event, signature)
        self.check(status == 200, f"customer.created answered {status}: {body}")
        sub_id = f"sub_e2e{secrets.token_hex(6)}"
        sub_event = event(f"evt_e2e{secrets.token_hex(8)}", "customer.subscription.created", {
            "id": sub_id, "object": "subscription", "customer": customer_id, "status": "active",
            "cancel_at_period_end": False, "current_period_end": now + 30 * 86400,
            "trial_end": None, "items": {"data": [{"price": {"id": "price_e2e_monthly"}}]},
            "metadata": {"user_id": member_id},
        }, now + 1)
        status, body = s.post_webhook(sub_event)
        self.check(status == 200, f"customer.subscription.created answered {status}: {body}")
        status, body = s.post_webhook(sub_event)
        self.check(status == 200 and '"duplicate":true' in body.replace(" ", ""),
                   f"a redelivery should be a 200 duplicate, got {status}: {body}")
        cust = self.call("billing", BIS + "GetCustomer", {"userId": member_id}, admin)["customer"]
        self.check(cust.get("stripeCustomerId") == customer_id and cust.get("userId") == member_id,
                   f"customer not linked to the member: {cust}")
        ent = self.call("billing", BIS + "GetEntitlement", {"userId": member_id}, member)
        e = ent["entitlement"]
        self.check(e.get("entitled") is True and e.get("status") == "SUBSCRIPTION_STATUS_ACTIVE"
                   and e.get("priceId") == "price_e2e_monthly", f"not entitled: {ent}")

        self.step("the member starts an exam session on the new tag")
        started = self.call("questions", QBS + "StartPracticeSession", {
            "mode": "PRACTICE_MODE_EXAM", "questionCount": 3, "filter": {"tagIds": [tag["id"]]}},
            member)
        session = started["session"]
        self.check(sorted(session.get("questionIds", [])) == sorted(correct),
                   f"session questions {session.get('questionIds')} != {sorted(correct)}")
        for q in started.get("questions", []):
            self.check(all("isCorrect" not in c for c in q.get("choices", [])),
                       f"answers shown to a member before answering: {q}")

        self.step("the member answers: two right, one wrong; exam mode reveals nothing yet")
        ids = session["questionIds"]
        for i, qid in enumerate(ids):
            choice = wrong[qid] if i == 0 else correct[qid]
            out = self.call("questions", QBS + "SubmitAttempt", {
                "sessionId": session["id"], "questionId": qid, "choiceId": choice,
                "timeSpentMs": 1500 + i}, member)
            self.check(not out.get("revealed") and "isCorrect" not in out.get("attempt", {}),
                       f"exam attempt revealed the answer: {out}")
        self.expect_code("already_exists", "questions", QBS + "SubmitAttempt", {
            "sessionId": session["id"], "questionId": ids[1], "choiceId": correct[ids[1]]}, member)

        self.step("the member ends the session and gets the score")
        ended = self.call("questions", QBS + "EndPracticeSession", {"sessionId": session["id"]},
                          member)
        self.check(ended["session"].get("score") == 2, f"score != 2: {ended['session']}")
        self.check(sum(1 for a in ended.get("attempts", []) if a.get("isCorrect")) == 2,
                   f"attempts after end: {ended.get('attempts')}")

        self.step("the member's stats count the attempts")
        stats = self.call("questions", QBS + "GetUserStats", {}, member)
        overall = stats.get("overall", {})
        self.check(overall.get("attemptCount") == 3 and overall.get("correctCount") == 2,
                   f"stats: {stats}")
        by_tag = {t["tag"]["slug"]: t["accuracy"] for t in stats.get("byTag", [])}
        self.check(by_tag.get(slug, {}).get("attemptCount") == 3, f"by tag: {stats}")

        self.step("another member cannot see the first member's session")
        other_pw = "Other-" + secrets.token_urlsafe(16)
        self.known_secrets["other password"] = other_pw
        other_email = f"other-{secrets.token_hex(4)}@e2e.example"
        self.user_ids["other"] = self.call("identity", IDS + "CreateUser", {
            "email": other_email, "password": other_pw})["user"]["userId"]
        other = self.call("identity", IDS + "Login",
                          {"email": other_email, "password": other_pw})["sessionToken"]
        self.known_secrets["other session token"] = other
        self.expect_code("not_found", "questions", QBS + "GetPracticeSession",
                         {"sessionId": session["id"]}, other)

        self.step("logout revokes the member's session at identity")
        self.call("identity", IDS + "Logout", {}, member)
        self.expect_code("unauthenticated", "identity", IDS + "ValidateSession",
                         {"sessionToken": member})
        return self.known_secrets

    def operator_doors(self):
        """Reflection lists each service and Health; health answers for the service by name;
        /metrics has RPC counts and latency histograms for the service's own methods, the
        database pool's gauges and the counters of the service's batched read."""
        services = {"identity": "identity.v1.IdentityService",
                    "billing": "billing.v1.BillingService",
                    "questions": "questions.v1.QuestionBankService"}
        batched_reads = {"identity": "identity_session_lookup",
                         "billing": "billing_subscription_best",
                         "questions": "question_full_by_id"}
        for svc, name in services.items():
            self.step(f"operators: {svc} reflection, health and metrics")
            try:
                listed = self.suite.list_services(svc)
            except RpcError as e:
                raise StepFailed(f"step '{self.step_name}': {e}") from None
            self.check(name in listed and "grpc.health.v1.Health" in listed,
                       f"reflection lists {listed}")
            health = self.call(svc, "grpc.health.v1.Health/Check", {"service": name})
            self.check(health.get("status") == "SERVING", f"health of {name}: {health}")
            text = self.suite.metrics(svc)
            for series in (f'grpc_server_handled_total{{grpc_service="{name}"',
                           f'grpc_server_handling_seconds_bucket{{grpc_service="{name}"',
                           "db_pool_size{", "db_pool_in_use{", "db_pool_wait_seconds_total{",
                           f'db_batched_read_statements_total{{read="{batched_reads[svc]}"',
                           f'db_batched_read_callers_total{{read="{batched_reads[svc]}"'):
                self.check(series in text, f"no {series}...}} series at /metrics")
