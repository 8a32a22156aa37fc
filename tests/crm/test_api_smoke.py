def test_create_and_list_people_with_an_api_key(api):
    created = api.post(
        "/api/v1/people/", {"first_name": "Ada", "email": "ada@example.com"}, format="json"
    )
    assert created.status_code == 201, created.content
    listed = api.get("/api/v1/people/?email=ada@example.com").json()
    assert listed["count"] == 1
    assert listed["results"][0]["first_name"] == "Ada"


def test_no_key_answers_401(db, client):
    assert client.get("/api/v1/people/").status_code == 401
