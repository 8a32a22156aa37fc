"""The graphs of the template gallery (SPEC section 9), as data: one constant per template.

Addresses of outside tools are `*.example.com` placeholders and their keys `{{secrets.NAME}}`;
each template's description in `__init__.py` says which to replace. Thresholds live in the
code steps' `input`, where a team changes them without touching the JavaScript.
"""


def step(step_id, name, step_type, settings, next_=None, **extra) -> dict:
    return {
        "id": step_id,
        "name": name,
        "type": step_type,
        "settings": settings,
        "next": next_ or [],
        **extra,
    }


def graph(trigger_type, trigger_settings, entry, steps) -> dict:
    return {
        "trigger": {"type": trigger_type, "settings": trigger_settings, "next": entry},
        "steps": steps,
        "layout": {},
    }


def code(source: str, input_: dict) -> dict:
    return {"source": source, "input": input_}


def where(field, op, value) -> dict:
    return {"all": [{"field": field, "op": op, "value": value}]}


def when(left, op, right=None) -> dict:
    leaf = {"left": left, "op": op}
    if right is not None:
        leaf["right"] = right
    return {"all": [leaf]}


RETRY = {"retry": 2, "backoff_s": 10}


# --- Lead capture ----------------------------------------------------------------------------


def _lead_capture(trigger_type: str, trigger_settings: dict, source: str) -> dict:
    """Find the person by email; update or create them; a follow-up task; an email to sales.
    `source` is where the submitted values are (`trigger.body` or `trigger.values`)."""
    return graph(
        trigger_type,
        trigger_settings,
        ["find"],
        [
            step(
                "find",
                "Find person by email",
                "find_records",
                {
                    "object": "person",
                    "limit": 1,
                    "where": where("email", "eq", f"{{{{{source}.email}}}}"),
                },
                ["known"],
            ),
            step(
                "known",
                "Already known?",
                "if_else",
                {
                    "branches": [
                        {
                            "name": "known",
                            "next": ["touch"],
                            "when": when("{{steps.find.count}}", "gt", 0),
                        }
                    ],
                    "else_next": ["create"],
                },
            ),
            step(
                "touch",
                "Update person",
                "update_record",
                {
                    "object": "person",
                    "id": "{{steps.find.first.id}}",
                    "values": {"job_title": f"{{{{{source}.title}}}}"},
                },
                ["follow_up"],
            ),
            step(
                "create",
                "Create person",
                "create_record",
                {
                    "object": "person",
                    "values": {
                        "email": f"{{{{{source}.email}}}}",
                        "first_name": f"{{{{{source}.name}}}}",
                        "job_title": f"{{{{{source}.title}}}}",
                        "tags": ["web lead"],
                    },
                },
                ["follow_up"],
            ),
            step(
                "follow_up",
                "Follow-up task",
                "create_record",
                {
                    "object": "task",
                    "values": {
                        "title": f"Follow up with {{{{{source}.name}}}} ({{{{{source}.company}}}})",
                        "body": f"{{{{{source}.message}}}}",
                        "person": "{{steps.touch.record.id}}{{steps.create.record.id}}",
                    },
                },
                ["notify"],
            ),
            step(
                "notify",
                "Email sales",
                "send_email",
                {
                    "to": "sales@example.com",
                    "subject": f"New web lead: {{{{{source}.name}}}}",
                    "body": f"{{{{{source}.name}}}} <{{{{{source}.email}}}}> from "
                    f"{{{{{source}.company}}}} wrote:\n\n{{{{{source}.message}}}}",
                },
                on_error={"retry": 2, "backoff_s": 30},
            ),
        ],
    )


LEAD_FIELDS = {
    "email": "string",
    "name": "string",
    "company": "string",
    "title": "string",
    "message": "string",
}

WEB_FORM_LEAD_CAPTURE = _lead_capture(
    "webhook",
    {"method": "POST", "auth": "token", "expected_body": LEAD_FIELDS},
    "trigger.body",
)

INTAKE_FORM_LEAD_CAPTURE = _lead_capture(
    "form_submitted",
    {
        "title": "Talk to us",
        "description": "Tell us a little about you and we will get back to you within a day.",
        "fields": [
            {"name": "name", "label": "Your name", "type": "text", "required": True},
            {"name": "email", "label": "Email", "type": "text", "required": True},
            {"name": "company", "label": "Company", "type": "text"},
            {"name": "title", "label": "Job title", "type": "text"},
            {"name": "message", "label": "How can we help?", "type": "textarea"},
        ],
        "submit_label": "Send",
        "thank_you": "Thank you! We will be in touch soon.",
    },
    "trigger.values",
)


# --- Product usage ---------------------------------------------------------------------------

PRODUCT_USAGE_SYNC = graph(
    "schedule",
    {"every": {"amount": 1, "unit": "days"}, "timezone": "UTC"},
    ["fetch"],
    [
        step(
            "fetch",
            "Get usage from the warehouse",
            "http_request",
            {
                "method": "GET",
                "url": "https://warehouse.example.com/v1/usage/daily",
                "headers": {"Authorization": "Bearer {{secrets.WAREHOUSE_API_KEY}}"},
                "timeout_s": 30,
            },
            ["shape"],
            on_error=RETRY,
        ),
        step(
            "shape",
            "Shape the rows",
            "code",
            code(
                "function main(input) {\n"
                "  const rows = (input.answer && input.answer.rows) || input.answer || [];\n"
                "  return {rows: rows.filter(r => r.domain).map(r => ({\n"
                "    domain: String(r.domain).toLowerCase(),\n"
                "    active_users: Number(r.active_users) || 0,\n"
                "    low: (Number(r.active_users) || 0) < input.threshold,\n"
                "  }))};\n}",
                {"answer": "{{steps.fetch.body}}", "threshold": 5},
            ),
            ["each"],
        ),
        step(
            "each",
            "For each account",
            "iterator",
            {"items": "{{steps.shape.rows}}", "loop": ["company"]},
        ),
        step(
            "company",
            "Find the company by domain",
            "find_records",
            {
                "object": "company",
                "limit": 1,
                "where": where("domain", "eq", "{{steps.each.item.domain}}"),
            },
            ["found"],
        ),
        step(
            "found",
            "Known company?",
            "filter",
            {"when": when("{{steps.company.count}}", "gt", 0)},
            ["usage"],
        ),
        step(
            "usage",
            "Store its usage",
            "update_record",
            {
                "object": "company",
                "id": "{{steps.company.first.id}}",
                "values": {
                    "custom": {
                        "active_users": "{{steps.each.item.active_users}}",
                        "usage_synced_at": "{{now}}",
                    }
                },
            },
            ["low"],
        ),
        step(
            "low",
            "Usage under the threshold?",
            "filter",
            {"when": when("{{steps.each.item.low}}", "eq", True)},
            ["alert"],
        ),
        step(
            "alert",
            "Task for the account owner",
            "create_record",
            {
                "object": "task",
                "values": {
                    "title": "Usage dropped at {{steps.company.first.name}}: "
                    "{{steps.each.item.active_users}} active users",
                    "company": "{{steps.company.first.id}}",
                    "assignee": "{{steps.company.first.owner}}",
                },
            },
        ),
    ],
)


# --- Meeting notes ---------------------------------------------------------------------------

MEETING_NOTES_FROM_CALL_RECORDER = graph(
    "webhook",
    {
        "method": "POST",
        "auth": "hmac",
        "expected_body": {
            "title": "string",
            "summary": "string",
            "action_items": "list",
            "attendees": "list",
            "opportunity": "string",
        },
    },
    ["extract"],
    [
        step(
            "extract",
            "Extract summary and action items",
            "code",
            code(
                "function main(input) {\n"
                "  const call = input.call || {};\n"
                "  const items = (call.action_items || []).map(i => typeof i === 'string' ? i : i.text)\n"
                "    .filter(Boolean);\n"
                "  const emails = (call.attendees || []).map(a => typeof a === 'string' ? a : a.email)\n"
                "    .filter(Boolean);\n"
                "  return {title: call.title || 'Call', summary: call.summary || '',\n"
                "          action_items: items, attendees: emails, contact: emails[0] || '',\n"
                "          opportunity: call.opportunity || ''};\n}",
                {"call": "{{trigger.body}}"},
            ),
            ["deal"],
        ),
        step(
            "deal",
            "Find the opportunity",
            "find_records",
            {
                "object": "opportunity",
                "limit": 1,
                "where": where("name", "eq", "{{steps.extract.opportunity}}"),
            },
            ["contact"],
        ),
        step(
            "contact",
            "Find the person",
            "find_records",
            {
                "object": "person",
                "limit": 1,
                "where": where("email", "eq", "{{steps.extract.contact}}"),
            },
            ["note"],
        ),
        step(
            "note",
            "Note with the summary",
            "create_record",
            {
                "object": "note",
                "values": {
                    "title": "Call notes: {{steps.extract.title}}",
                    "body": "{{steps.extract.summary}}",
                    "opportunity": "{{steps.deal.first.id}}",
                    "person": "{{steps.contact.first.id}}",
                },
            },
            ["items"],
        ),
        step(
            "items",
            "For each action item",
            "iterator",
            {"items": "{{steps.extract.action_items}}", "loop": ["task"]},
            ["recap"],
        ),
        step(
            "task",
            "Task for the action item",
            "create_record",
            {
                "object": "task",
                "values": {
                    "title": "{{steps.items.item}}",
                    "opportunity": "{{steps.deal.first.id}}",
                    "person": "{{steps.contact.first.id}}",
                },
            },
        ),
        step(
            "recap",
            "Email the attendees",
            "send_email",
            {
                "to": "{{steps.extract.attendees}}",
                "subject": "Notes: {{steps.extract.title}}",
                "body": "{{steps.extract.summary}}\n\nAction items: {{steps.extract.action_items}}",
            },
        ),
    ],
)


# --- Enrichment ------------------------------------------------------------------------------

DATA_ENRICHMENT = graph(
    "record_created",
    {"object": "company"},
    ["lookup"],
    [
        step(
            "lookup",
            "Look up the company",
            "http_request",
            {
                "method": "GET",
                "url": "https://enrichment.example.com/v1/companies",
                "query": {"domain": "{{trigger.record.domain}}"},
                "headers": {"Authorization": "Bearer {{secrets.ENRICHMENT_API_KEY}}"},
                "timeout_s": 10,
            },
            ["shape"],
            on_error=RETRY,
        ),
        step(
            "shape",
            "Pick the fields",
            "code",
            code(
                "function main(input) {\n"
                "  const c = input.company || {};\n"
                "  const employees = Number(c.employees) || null;\n"
                "  const signals = c.buying_signals || [];\n"
                "  return {employees: employees, industry: c.industry || '', city: c.city || '',\n"
                "          high_value: (employees || 0) >= input.high_value_employees,\n"
                "          signals: signals.join(', '), has_signals: signals.length > 0};\n}",
                {"company": "{{steps.lookup.body}}", "high_value_employees": 500},
            ),
            ["save"],
        ),
        step(
            "save",
            "Update the company",
            "update_record",
            {
                "object": "company",
                "id": "{{trigger.record.id}}",
                "values": {
                    "employees": "{{steps.shape.employees}}",
                    "industry": "{{steps.shape.industry}}",
                    "city": "{{steps.shape.city}}",
                },
            },
            ["high"],
        ),
        step(
            "high",
            "High-value customer?",
            "if_else",
            {
                "branches": [
                    {
                        "name": "high value",
                        "next": ["task"],
                        "when": when("{{steps.shape.high_value}}", "eq", True),
                    }
                ],
                "else_next": ["signals"],
            },
        ),
        step(
            "task",
            "Task for a high-value customer",
            "create_record",
            {
                "object": "task",
                "values": {
                    "title": "High-value account: {{trigger.record.name}} ({{steps.shape.employees}} people)",
                    "company": "{{trigger.record.id}}",
                    "assignee": "{{trigger.record.owner}}",
                },
            },
            ["signals"],
        ),
        step(
            "signals",
            "Buying signals?",
            "filter",
            {"when": when("{{steps.shape.has_signals}}", "eq", True)},
            ["alert"],
        ),
        step(
            "alert",
            "Alert sales",
            "send_email",
            {
                "to": "sales@example.com",
                "subject": "Buying signals at {{trigger.record.name}}",
                "body": "{{trigger.record.name}} ({{trigger.record.domain}}) shows: {{steps.shape.signals}}.",
            },
        ),
    ],
)


# --- Newsletter ------------------------------------------------------------------------------

NEWSLETTER_EXPORT = graph(
    "manual",
    {"mode": "single"},
    ["people"],
    [
        step(
            "people",
            "Find people with an email",
            "find_records",
            {"object": "person", "limit": 1000, "where": where("email", "is_not_empty", "")},
            ["format"],
        ),
        step(
            "format",
            "Keep and format the subscribers",
            "code",
            code(
                "function main(input) {\n"
                "  const members = input.people.filter(p => (p.tags || []).includes(input.tag))\n"
                "    .map(p => ({email: p.email, first_name: p.first_name || '',\n"
                "                last_name: p.last_name || ''}));\n"
                "  return {members: members, count: members.length};\n}",
                {"people": "{{steps.people.records}}", "tag": "newsletter"},
            ),
            ["upload"],
        ),
        step(
            "upload",
            "Send them to the mailing tool",
            "http_request",
            {
                "method": "POST",
                "url": "https://mailing.example.com/v1/lists/newsletter/members",
                "headers": {"Authorization": "Bearer {{secrets.MAILING_API_KEY}}"},
                "body": {"members": "{{steps.format.members}}"},
            },
            ["track"],
            on_error=RETRY,
        ),
        step(
            "track",
            "Note that tracks the campaign",
            "create_record",
            {
                "object": "note",
                "values": {
                    "title": "Newsletter export {{run.started_at}}",
                    "body": "{{steps.format.count}} subscribers sent to the mailing tool "
                    "(campaign {{steps.upload.body.campaign_id}}).",
                },
            },
            ["confirm"],
        ),
        step(
            "confirm",
            "Confirmation email",
            "send_email",
            {
                "to": "marketing@example.com",
                "subject": "Newsletter list exported: {{steps.format.count}} subscribers",
                "body": "Campaign {{steps.upload.body.campaign_id}} has {{steps.format.count}} subscribers.",
            },
        ),
    ],
)


# --- Email sequence --------------------------------------------------------------------------

EMAIL_SEQUENCE_ENROLMENT = graph(
    "record_created",
    {
        "object": "person",
        "when": {
            "all": [
                {"left": "{{trigger.record.email}}", "op": "is_not_empty"},
                {"left": "{{trigger.record.job_title}}", "op": "is_not_empty"},
            ]
        },
    },
    ["pick"],
    [
        step(
            "pick",
            "Pick the sequence",
            "code",
            code(
                "function main(input) {\n"
                "  const title = (input.title || '').toLowerCase();\n"
                "  const senior = input.senior_words.some(w => title.includes(w));\n"
                "  return {sequence: senior ? 'executive' : 'standard'};\n}",
                {
                    "title": "{{trigger.record.job_title}}",
                    "senior_words": ["ceo", "cto", "vp", "head", "director", "founder"],
                },
            ),
            ["enrol"],
        ),
        step(
            "enrol",
            "Enrol in the automation tool",
            "http_request",
            {
                "method": "POST",
                "url": "https://automation.example.com/v1/sequences/{{steps.pick.sequence}}/enrolments",
                "headers": {"Authorization": "Bearer {{secrets.AUTOMATION_API_KEY}}"},
                "body": {
                    "email": "{{trigger.record.email}}",
                    "first_name": "{{trigger.record.first_name}}",
                    "last_name": "{{trigger.record.last_name}}",
                },
            },
            ["mark"],
            on_error=RETRY,
        ),
        step(
            "mark",
            "Update the person",
            "update_record",
            {
                "object": "person",
                "id": "{{trigger.record.id}}",
                "values": {
                    "custom": {"sequence": "{{steps.pick.sequence}}", "enrolled_at": "{{now}}"}
                },
            },
            ["watch"],
        ),
        step(
            "watch",
            "Task to watch engagement",
            "create_record",
            {
                "object": "task",
                "values": {
                    "title": "Watch how {{trigger.record.first_name}} {{trigger.record.last_name}} "
                    "engages with the {{steps.pick.sequence}} sequence",
                    "person": "{{trigger.record.id}}",
                },
            },
        ),
    ],
)


# --- Lead scoring ----------------------------------------------------------------------------

# Only changes to these fields rescore, so the score the workflow writes (in `custom`) does not
# start it again.
SCORED_FIELDS = ["job_title", "company", "email", "city"]

LEAD_SCORING_EXTERNAL = graph(
    "record_updated",
    {"object": "person", "fields": SCORED_FIELDS},
    ["score"],
    [
        step(
            "score",
            "Ask the scoring tool",
            "http_request",
            {
                "method": "POST",
                "url": "https://scoring.example.com/v1/score",
                "headers": {"Authorization": "Bearer {{secrets.SCORING_API_KEY}}"},
                "body": {
                    "email": "{{trigger.record.email}}",
                    "job_title": "{{trigger.record.job_title}}",
                    "company": "{{trigger.record.company_name}}",
                },
            },
            ["read"],
            on_error=RETRY,
        ),
        step(
            "read",
            "Read the score",
            "code",
            code(
                "function main(input) {\n"
                "  const score = Math.round(Number((input.answer || {}).score) || 0);\n"
                "  return {score: score, hot: score >= input.threshold};\n}",
                {"answer": "{{steps.score.body}}", "threshold": 80},
            ),
            ["save"],
        ),
        step(
            "save",
            "Store the score",
            "update_record",
            {
                "object": "person",
                "id": "{{trigger.record.id}}",
                "values": {"custom": {"lead_score": "{{steps.read.score}}"}},
            },
            ["hot"],
        ),
        step(
            "hot",
            "Over the threshold?",
            "filter",
            {"when": when("{{steps.read.hot}}", "eq", True)},
            ["task"],
        ),
        step(
            "task",
            "Task for a hot lead",
            "create_record",
            {
                "object": "task",
                "values": {
                    "title": "Hot lead: {{trigger.record.first_name}} {{trigger.record.last_name}} "
                    "scored {{steps.read.score}}",
                    "person": "{{trigger.record.id}}",
                },
            },
        ),
    ],
)

LEAD_SCORING_INTERNAL = graph(
    "record_updated",
    {"object": "person", "fields": SCORED_FIELDS},
    ["company"],
    [
        step(
            "company",
            "Find the company",
            "find_records",
            {
                "object": "company",
                "limit": 1,
                "where": where("id", "eq", "{{trigger.record.company}}"),
            },
            ["score"],
        ),
        step(
            "score",
            "Score the lead",
            "code",
            code(
                "function main(input) {\n"
                "  const c = input.company || {};\n"
                "  const title = (input.title || '').toLowerCase();\n"
                "  let score = 0;\n"
                "  const size = Number(c.employees) || 0;\n"
                "  score += size >= 1000 ? 40 : size >= 200 ? 25 : size >= 50 ? 10 : 0;\n"
                "  if (input.industries.includes((c.industry || '').toLowerCase())) score += 30;\n"
                "  if (input.senior_words.some(w => title.includes(w))) score += 30;\n"
                "  return {score: score, high: score >= input.threshold};\n}",
                {
                    "company": "{{steps.company.first}}",
                    "title": "{{trigger.record.job_title}}",
                    "industries": ["software", "saas", "fintech"],
                    "senior_words": ["ceo", "cto", "vp", "head", "director", "founder"],
                    "threshold": 70,
                },
            ),
            ["save"],
        ),
        step(
            "save",
            "Store the score",
            "update_record",
            {
                "object": "person",
                "id": "{{trigger.record.id}}",
                "values": {"custom": {"lead_score": "{{steps.score.score}}"}},
            },
            ["high"],
        ),
        step(
            "high",
            "High score?",
            "filter",
            {"when": when("{{steps.score.high}}", "eq", True)},
            ["tell"],
        ),
        step(
            "tell",
            "Email the owner",
            "send_email",
            {
                "to": "sales@example.com",
                "subject": "High-scoring lead: {{trigger.record.first_name}} {{trigger.record.last_name}} ({{steps.score.score}})",
                "body": "{{trigger.record.first_name}} {{trigger.record.last_name}}, "
                "{{trigger.record.job_title}} at {{trigger.record.company_name}}, scored "
                "{{steps.score.score}}.",
            },
        ),
    ],
)


# --- Invoice on won deal ---------------------------------------------------------------------

INVOICE_ON_WON_DEAL = graph(
    "record_updated",
    {
        "object": "opportunity",
        "fields": ["stage"],
        "when": when("{{trigger.record.stage}}", "eq", "won"),
    },
    ["company"],
    [
        step(
            "company",
            "Find the company",
            "find_records",
            {
                "object": "company",
                "limit": 1,
                "where": where("id", "eq", "{{trigger.record.company}}"),
            },
            ["contact"],
        ),
        step(
            "contact",
            "Find the contact",
            "find_records",
            {
                "object": "person",
                "limit": 1,
                "where": where("id", "eq", "{{trigger.record.point_of_contact}}"),
            },
            ["format"],
        ),
        step(
            "format",
            "Format the billing data",
            "code",
            code(
                "function main(input) {\n"
                "  const c = input.company || {}, p = input.contact || {}, d = input.deal;\n"
                "  return {\n"
                "    customer: {name: c.name || d.company_name || d.name, domain: c.domain || '',\n"
                "               email: p.email || '',\n"
                "               contact: [p.first_name, p.last_name].filter(Boolean).join(' ')},\n"
                "    invoice: {amount: Number(d.amount) || 0, currency: d.currency || 'USD',\n"
                "              description: d.name, reference: d.id},\n"
                "  };\n}",
                {
                    "company": "{{steps.company.first}}",
                    "contact": "{{steps.contact.first}}",
                    "deal": "{{trigger.record}}",
                },
            ),
            ["customer"],
        ),
        step(
            "customer",
            "Create the customer",
            "http_request",
            {
                "method": "POST",
                "url": "https://billing.example.com/v1/customers",
                "headers": {"Authorization": "Bearer {{secrets.BILLING_API_KEY}}"},
                "body": "{{steps.format.customer}}",
            },
            ["invoice"],
            on_error=RETRY,
        ),
        step(
            "invoice",
            "Create the invoice",
            "http_request",
            {
                "method": "POST",
                "url": "https://billing.example.com/v1/invoices",
                "headers": {"Authorization": "Bearer {{secrets.BILLING_API_KEY}}"},
                "body": {
                    "customer_id": "{{steps.customer.body.id}}",
                    "amount": "{{steps.format.invoice.amount}}",
                    "currency": "{{steps.format.invoice.currency}}",
                    "description": "{{steps.format.invoice.description}}",
                    "reference": "{{steps.format.invoice.reference}}",
                },
            },
            ["remember"],
            on_error=RETRY,
        ),
        step(
            "remember",
            "Store the invoice reference",
            "update_record",
            {
                "object": "opportunity",
                "id": "{{trigger.record.id}}",
                "values": {"custom": {"invoice_ref": "{{steps.invoice.body.id}}"}},
            },
            ["tell_finance"],
        ),
        step(
            "tell_finance",
            "Email finance",
            "send_email",
            {
                "to": "finance@example.com",
                "subject": "Invoice {{steps.invoice.body.id}} for {{trigger.record.name}}",
                "body": "{{trigger.record.name}} was won: {{trigger.record.amount}} "
                "{{trigger.record.currency}}, billed to {{steps.format.customer.name}}. "
                "Invoice {{steps.invoice.body.id}}.",
            },
        ),
    ],
)


# --- Two-way sync ----------------------------------------------------------------------------

TWO_WAY_SYNC_OUTBOUND = graph(
    "record_updated",
    # Not `custom`, where the sync status is written: that would start it again.
    {"object": "company", "fields": ["name", "domain", "employees", "industry", "city", "country"]},
    ["push"],
    [
        step(
            "push",
            "Send to the other system",
            "http_request",
            {
                "method": "PUT",
                "url": "https://erp.example.com/v1/companies/{{trigger.record.id}}",
                "headers": {"Authorization": "Bearer {{secrets.SYNC_API_KEY}}"},
                "body": "{{trigger.record}}",
            },
            ["sent"],
            on_error={"retry": 2, "backoff_s": 10, "continue": True},
        ),
        step(
            "sent",
            "Accepted?",
            "if_else",
            {
                "branches": [
                    {
                        "name": "synced",
                        "next": ["synced"],
                        "when": when("{{steps.push.error}}", "is_empty"),
                    }
                ],
                "else_next": ["failed"],
            },
        ),
        step(
            "synced",
            "Mark as synced",
            "update_record",
            {
                "object": "company",
                "id": "{{trigger.record.id}}",
                "values": {"custom": {"sync_status": "synced", "synced_at": "{{now}}"}},
            },
        ),
        step(
            "failed",
            "Mark as failed",
            "update_record",
            {
                "object": "company",
                "id": "{{trigger.record.id}}",
                "values": {
                    "custom": {
                        "sync_status": "failed",
                        "synced_at": "{{now}}",
                        "sync_error": "{{steps.push.error}}",
                    }
                },
            },
        ),
    ],
)

TWO_WAY_SYNC_INBOUND = graph(
    "webhook",
    {
        "method": "POST",
        "auth": "hmac",
        "expected_body": {
            "domain": "string",
            "name": "string",
            "city": "string",
            "updated_at": "string",
        },
    },
    ["find"],
    [
        step(
            "find",
            "Find the matching company",
            "find_records",
            {
                "object": "company",
                "limit": 1,
                "where": where("domain", "eq", "{{trigger.body.domain}}"),
            },
            ["found"],
        ),
        step(
            "found",
            "Known company?",
            "filter",
            {"when": when("{{steps.find.count}}", "gt", 0)},
            ["compare"],
        ),
        step(
            "compare",
            "Compare the two sides",
            "code",
            code(
                "function main(input) {\n"
                "  const ours = input.ours || {}, theirs = input.theirs || {};\n"
                "  const changedHere = Date.parse(ours.updated_at || 0);\n"
                "  const syncedAt = Date.parse((ours.custom || {}).synced_at || 0);\n"
                "  const conflict = changedHere > syncedAt &&\n"
                "    ['name', 'city'].some(f => theirs[f] && ours[f] && theirs[f] !== ours[f]);\n"
                "  return {conflict: conflict};\n}",
                {"ours": "{{steps.find.first}}", "theirs": "{{trigger.body}}"},
            ),
            ["update"],
        ),
        step(
            "update",
            "Update the company",
            "update_record",
            {
                "object": "company",
                "id": "{{steps.find.first.id}}",
                "values": {
                    "name": "{{trigger.body.name}}",
                    "city": "{{trigger.body.city}}",
                    "custom": {
                        "synced_at": "{{now}}",
                        "remote_updated_at": "{{trigger.body.updated_at}}",
                    },
                },
            },
            ["conflict"],
        ),
        step(
            "conflict",
            "Both sides changed?",
            "filter",
            {"when": when("{{steps.compare.conflict}}", "eq", True)},
            ["task"],
        ),
        step(
            "task",
            "Task to resolve the conflict",
            "create_record",
            {
                "object": "task",
                "values": {
                    "title": "Sync conflict on {{steps.find.first.name}}: check the values the other system sent",
                    "body": "Ours before: {{steps.find.first.name}}, {{steps.find.first.city}}. "
                    "Theirs: {{trigger.body.name}}, {{trigger.body.city}}.",
                    "company": "{{steps.find.first.id}}",
                },
            },
        ),
    ],
)


# --- Multi-step processing -------------------------------------------------------------------

MULTI_STEP_DATA_PROCESSING = graph(
    "webhook",
    {
        "method": "POST",
        "auth": "token",
        "expected_body": {
            "email": "string",
            "first_name": "string",
            "last_name": "string",
            "phone": "string",
            "city": "string",
        },
    },
    ["check"],
    [
        step(
            "check",
            "Validate",
            "code",
            code(
                "function main(input) {\n"
                "  const r = input.row || {}, problems = [];\n"
                "  if (!/^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$/.test(String(r.email || '').trim()))\n"
                "    problems.push('email is missing or invalid');\n"
                "  if (!r.first_name && !r.last_name) problems.push('no name');\n"
                "  return {valid: problems.length === 0, problems: problems.join('; ')};\n}",
                {"row": "{{trigger.body}}"},
            ),
            ["valid"],
        ),
        step(
            "valid",
            "Valid?",
            "if_else",
            {
                "branches": [
                    {
                        "name": "valid",
                        "next": ["transform"],
                        "when": when("{{steps.check.valid}}", "eq", True),
                    }
                ],
                "else_next": ["report"],
            },
        ),
        step(
            "transform",
            "Transform",
            "code",
            code(
                "function main(input) {\n"
                "  const r = input.row, cap = s => String(s || '').trim().toLowerCase()\n"
                "    .replace(/(^|[\\s-])\\S/g, c => c.toUpperCase());\n"
                "  return {email: String(r.email).trim().toLowerCase(), first_name: cap(r.first_name),\n"
                "          last_name: cap(r.last_name), city: cap(r.city),\n"
                "          phone: String(r.phone || '').replace(/[^0-9+]/g, '')};\n}",
                {"row": "{{trigger.body}}"},
            ),
            ["rules"],
        ),
        step(
            "rules",
            "Apply business rules",
            "code",
            code(
                "function main(input) {\n"
                "  const domain = input.person.email.split('@')[1];\n"
                "  const free = input.free_domains.includes(domain);\n"
                "  return {tags: free ? ['imported', 'personal email'] : ['imported'],\n"
                "          warnings: input.person.phone ? '' : 'no phone number'};\n}",
                {
                    "person": "{{steps.transform}}",
                    "free_domains": ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com"],
                },
            ),
            ["dupes"],
        ),
        step(
            "dupes",
            "Find duplicates",
            "find_records",
            {
                "object": "person",
                "limit": 10,
                "where": where("email", "eq", "{{steps.transform.email}}"),
            },
            ["save"],
        ),
        step(
            "save",
            "Create or update the person",
            "upsert_record",
            {
                "object": "person",
                "match": ["email"],
                "values": {
                    "email": "{{steps.transform.email}}",
                    "first_name": "{{steps.transform.first_name}}",
                    "last_name": "{{steps.transform.last_name}}",
                    "city": "{{steps.transform.city}}",
                    "phone": "{{steps.transform.phone}}",
                    "tags": "{{steps.rules.tags}}",
                },
            },
            ["warned"],
        ),
        step(
            "warned",
            "Quality warnings?",
            "filter",
            {"when": when("{{steps.rules.warnings}}", "is_not_empty")},
            ["warn"],
        ),
        step(
            "warn",
            "Email the data-quality warnings",
            "send_email",
            {
                "to": "data-quality@example.com",
                "subject": "Imported {{steps.transform.email}} with warnings",
                "body": "{{steps.transform.email}}: {{steps.rules.warnings}} "
                "({{steps.dupes.count}} earlier record(s) with that email).",
            },
        ),
        step(
            "report",
            "Email the data-quality problems",
            "send_email",
            {
                "to": "data-quality@example.com",
                "subject": "Rejected an incoming record",
                "body": "Problems: {{steps.check.problems}}.\n\nReceived: {{trigger.body}}",
            },
        ),
    ],
)


# --- Reminders and forms ---------------------------------------------------------------------

STALE_OPPORTUNITY_REMINDER = graph(
    "schedule",
    {"cron": "0 9 * * 1-5", "timezone": "UTC"},
    ["cutoff"],
    [
        step(
            "cutoff",
            "30 days ago",
            "code",
            code(
                "function main(input) {\n"
                "  return {cutoff: new Date(Date.now() - input.days * 86400000).toISOString()};\n}",
                {"days": 30},
            ),
            ["find"],
        ),
        step(
            "find",
            "Find stale opportunities",
            "find_records",
            {
                "object": "opportunity",
                "limit": 200,
                "order_by": "updated_at",
                "where": {
                    "all": [
                        {"field": "stage", "op": "not_in", "value": ["won", "lost"]},
                        {"field": "updated_at", "op": "before", "value": "{{steps.cutoff.cutoff}}"},
                    ]
                },
            },
            ["each"],
        ),
        step(
            "each",
            "For each opportunity",
            "iterator",
            {"items": "{{steps.find.records}}", "loop": ["remind"]},
        ),
        step(
            "remind",
            "Reminder task",
            "create_record",
            {
                "object": "task",
                "values": {
                    "title": "Stale: {{steps.each.item.name}} has not moved in 30 days",
                    "opportunity": "{{steps.each.item.id}}",
                    "assignee": "{{steps.each.item.owner}}",
                },
            },
        ),
    ],
)

QUALIFY_LEAD_BY_FORM = graph(
    "manual",
    {"object": "person", "mode": "single"},
    ["ask"],
    [
        step(
            "ask",
            "Qualification form",
            "form",
            {
                "title": "Qualify {{trigger.record.first_name}} {{trigger.record.last_name}}",
                "description": "A few questions before we pass this lead to sales.",
                "fields": [
                    {"name": "budget", "label": "Budget", "type": "number", "required": True},
                    {
                        "name": "timeline",
                        "label": "Timeline",
                        "type": "select",
                        "required": True,
                        "options": ["this quarter", "this year", "later"],
                    },
                    {"name": "fit", "label": "Good fit", "type": "boolean"},
                    {"name": "notes", "label": "Notes", "type": "textarea"},
                ],
                "assignee": "",
            },
            ["save"],
        ),
        step(
            "save",
            "Save the answers",
            "update_record",
            {
                "object": "person",
                "id": "{{trigger.record.id}}",
                "values": {
                    "custom": {
                        "budget": "{{steps.ask.values.budget}}",
                        "timeline": "{{steps.ask.values.timeline}}",
                        "qualified": "{{steps.ask.values.fit}}",
                    }
                },
            },
            ["note"],
        ),
        step(
            "note",
            "Note the answers",
            "create_record",
            {
                "object": "note",
                "values": {
                    "title": "Qualification by {{steps.ask.submitted_by}}",
                    "body": "Budget {{steps.ask.values.budget}}, timeline "
                    "{{steps.ask.values.timeline}}.\n{{steps.ask.values.notes}}",
                    "person": "{{trigger.record.id}}",
                },
            },
        ),
    ],
)

MEETING_REMINDER = graph(
    "date_relative",
    {
        "object": "meeting",
        "field": "starts_at",
        "offset": {"amount": 1, "unit": "days", "direction": "before"},
    },
    ["tell_owner"],
    [
        step(
            "tell_owner",
            "Notify the owner",
            "notify",
            {
                "to": "{{trigger.record.owner}}",
                "title": "Tomorrow: {{trigger.record.title}}",
                "message": "{{trigger.record.title}} starts at {{trigger.record.starts_at}} "
                "({{trigger.record.location}}).",
                "link": "/meetings/{{trigger.record.id}}/",
            },
            ["attendees"],
        ),
        step(
            "attendees",
            "Find the attendees",
            "find_records",
            {
                "object": "person",
                "limit": 200,
                "where": where("id", "in", "{{trigger.record.attendees}}"),
            },
            ["each"],
        ),
        step(
            "each",
            "For each attendee",
            "iterator",
            {"items": "{{steps.attendees.records}}", "loop": ["email"]},
        ),
        step(
            "email",
            "Email the attendee",
            "send_email",
            {
                "to": "{{steps.each.item.email}}",
                "subject": "Reminder: {{trigger.record.title}} tomorrow",
                "body": "Hello {{steps.each.item.first_name}},\n\n"
                "This is a reminder of “{{trigger.record.title}}” at {{trigger.record.starts_at}}"
                " ({{trigger.record.location}}).\n\nSee you there.",
            },
        ),
    ],
)
