"""The record forms' pickers in a real browser (Debian's chromium, the fixtures of
tests/crm/test_browser.py): typing finds a company, the keyboard picks it, the point of
contact offers that company's people first, tags become chips. Screenshots go to
/tmp/pickers/."""

from pathlib import Path

import pytest

from crm.models import Company, Opportunity, Person
from tests.crm.test_browser import add_people, browser, logged_in_page, sync_api  # noqa: F401

SCREENS = Path("/tmp/pickers")


def shoot(page, name: str) -> None:
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"))


@pytest.mark.django_db(transaction=True)
def test_the_company_picker_finds_a_company_by_typing(browser, live_server):  # noqa: F811
    page = logged_in_page(browser, live_server)
    expect = sync_api.expect
    workspace = Company.objects.first().workspace
    northwind = Company.objects.get(name="Northwind Analytics")
    grace, alan = add_people(workspace, "Grace Hopper", "Alan Turing")
    Person.objects.filter(pk=alan.pk).update(company=northwind)

    page.goto(f"{live_server.url}/opportunities/new/")
    page.get_by_label("Name").fill("Analytics rollout")
    company = page.get_by_role("combobox", name="Company")
    company.click()
    page.keyboard.type("north")
    listbox = page.get_by_role("listbox", name="Companies")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option")).to_contain_text("Northwind Analytics")
    shoot(page, "company_picker_1440")
    page.keyboard.press("ArrowDown")
    expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(listbox).to_be_hidden()
    expect(company).to_have_value("Northwind Analytics")

    # The point of contact offers the chosen company's people first.
    contact = page.get_by_role("combobox", name="Point of contact")
    contact.focus()
    people = page.get_by_role("listbox", name="People")
    expect(people).to_be_visible()
    expect(people.get_by_role("option")).to_have_count(2)
    expect(people.get_by_role("option").first).to_contain_text("Alan Turing")
    expect(people).to_contain_text("At Northwind Analytics")
    shoot(page, "contact_picker_1440")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(contact).to_have_value("Alan Turing")

    page.get_by_role("button", name="Create opportunity").click()
    expect(page.locator("h1")).to_have_text("Analytics rollout")
    opportunity = Opportunity.objects.get()
    assert (opportunity.company, opportunity.point_of_contact) == (northwind, alan)


@pytest.mark.django_db(transaction=True)
def test_tags_become_chips_and_suggestions_come_from_the_workspace(browser, live_server):  # noqa: F811
    page = logged_in_page(browser, live_server)
    expect = sync_api.expect
    Company.objects.filter(name="Bluebird Logistics").update(tags=["priority", "saas"])
    northwind = Company.objects.get(name="Northwind Analytics")
    Company.objects.filter(pk=northwind.pk).update(tags=["old"])

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/companies/{northwind.pk}/edit/")
    tags = page.get_by_role("combobox", name="Tags")
    chips = page.locator("[data-tag-chips] .chip > span")
    expect(chips).to_have_text(["old"])
    tags.click()
    page.keyboard.type("pri")
    suggestions = page.get_by_role("listbox", name="Suggested tags")
    expect(suggestions.get_by_role("option")).to_have_text(["priority"])
    shoot(page, "tag_picker_390")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the suggestion
    page.keyboard.type("vip,")  # a new tag, added by the comma
    page.keyboard.type("temp")
    page.keyboard.press("Enter")
    expect(chips).to_have_text(["old", "priority", "vip", "temp"])
    page.keyboard.press("Backspace")  # empty box: removes the last chip
    page.get_by_role("button", name="Remove old").click()
    expect(chips).to_have_text(["priority", "vip"])
    page.keyboard.type("late")  # typed, never confirmed: still saved
    shoot(page, "tag_chips_390")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("h1")).to_have_text("Northwind Analytics")
    northwind.refresh_from_db()
    assert northwind.tags == ["priority", "vip", "late"]


@pytest.mark.django_db(transaction=True)
def test_on_a_phone_inline_edit_picks_a_company_with_the_keyboard(browser, live_server):  # noqa: F811
    page = logged_in_page(browser, live_server)
    expect = sync_api.expect
    workspace = Company.objects.first().workspace
    (grace,) = add_people(workspace, "Grace Hopper")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/people/{grace.pk}/")
    page.get_by_role("button", name="Edit Company").click()
    company = page.get_by_role("combobox", name="Company")
    expect(company).to_be_focused()
    page.keyboard.type("blue")
    listbox = page.get_by_role("listbox", name="Companies")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option")).to_contain_text("Bluebird Logistics")
    shoot(page, "inline_company_picker_390")
    page.keyboard.press("Escape")  # closes the list, not the inline edit
    expect(listbox).to_be_hidden()
    expect(company).to_be_visible()
    page.keyboard.type("b")
    expect(listbox).to_be_visible()
    page.keyboard.press("Enter")  # typed: the first option
    page.keyboard.press("Enter")  # the list is closed: saves
    expect(page.locator("#field-company .inline-value-text")).to_have_text("Bluebird Logistics")
    grace.refresh_from_db()
    assert grace.company.name == "Bluebird Logistics"


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_email_warns_with_a_link_and_save_anyway_saves(browser, live_server):  # noqa: F811
    page = logged_in_page(browser, live_server)
    expect = sync_api.expect
    workspace = Company.objects.first().workspace
    grace, alan = add_people(workspace, "Grace Hopper", "Alan Turing")
    Person.objects.filter(pk=grace.pk).update(email="grace@navy.mil")

    page.goto(f"{live_server.url}/people/new/")
    page.get_by_label("First name").fill("G.")
    page.get_by_label("Email").fill("Grace@navy.mil")
    page.get_by_label("Email").press("Enter")  # Enter checks again, it does not save anyway
    warning = page.locator("[data-duplicates]")
    expect(warning).to_contain_text("Another person has this email.")
    expect(warning.get_by_role("link", name="Grace Hopper")).to_have_attribute(
        "href", f"/people/{grace.pk}/"
    )
    shoot(page, "duplicate_warning_1440")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "duplicate_warning_390")
    page.get_by_label("Email").press("Enter")
    expect(warning).to_be_visible()
    assert Person.objects.count() == 2
    page.get_by_role("button", name="Save anyway").click()
    expect(page.locator("h1")).to_have_text("G.")
    assert Person.objects.filter(email__iexact="grace@navy.mil").count() == 2

    # Inline edit asks the same, and its "Save anyway" goes through HTMX.
    page.goto(f"{live_server.url}/people/{alan.pk}/")
    page.get_by_role("button", name="Edit Email").click()
    email = page.get_by_role("textbox", name="Email")  # not the "Edit Email" button
    expect(email).to_be_focused()
    page.keyboard.type("grace@navy.mil")
    page.keyboard.press("Enter")
    row = page.locator("#field-email")
    expect(row.locator("[data-duplicates]")).to_contain_text("2 other people have this email.")
    shoot(page, "duplicate_inline_390")
    row.get_by_role("button", name="Save anyway").click()
    expect(row.locator(".inline-value-text")).to_have_text("grace@navy.mil")
    alan.refresh_from_db()
    assert alan.email == "grace@navy.mil"


@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_company_is_a_plain_select(browser, live_server):  # noqa: F811
    page = logged_in_page(browser, live_server)
    expect = sync_api.expect
    context = browser.new_context(java_script_enabled=False)
    context.add_cookies(page.context.cookies())
    plain = context.new_page()
    plain.goto(f"{live_server.url}/people/new/")
    expect(plain.locator("[data-picker-input]")).to_be_hidden()
    plain.get_by_label("First name").fill("Ada")
    plain.get_by_label("Company", exact=True).select_option(label="Bluebird Logistics")
    plain.get_by_role("textbox", name="Tags").fill("vip, partner")
    plain.get_by_role("button", name="Create person").click()
    expect(plain.locator("h1")).to_have_text("Ada")
    person = Person.objects.get()
    assert (person.company.name, person.tags) == ("Bluebird Logistics", ["vip", "partner"])
    context.close()


@pytest.mark.django_db(transaction=True)
def test_inline_edit_of_tags_adds_a_chip_on_enter_and_saves_on_the_next(browser, live_server):  # noqa: F811
    page = logged_in_page(browser, live_server)
    expect = sync_api.expect
    northwind = Company.objects.get(name="Northwind Analytics")
    Company.objects.filter(pk=northwind.pk).update(tags=["saas"])

    page.goto(f"{live_server.url}/companies/{northwind.pk}/")
    page.get_by_role("button", name="Edit Tags").click()
    tags = page.get_by_role("combobox", name="Tags")
    expect(tags).to_be_focused()
    page.keyboard.type("vip")
    page.keyboard.press("Enter")  # adds the chip
    expect(page.locator("#field-tags [data-tag-chips] .chip > span")).to_have_text(["saas", "vip"])
    expect(page.locator("#field-tags [data-picker-status]")).not_to_be_empty()
    shoot(page, "inline_tags_1440")
    page.keyboard.press("Enter")  # an empty box: saves
    expect(page.locator("#field-tags .inline-value-text")).to_contain_text("vip")
    northwind.refresh_from_db()
    assert northwind.tags == ["saas", "vip"]
