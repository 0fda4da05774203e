def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok"}


def test_mayor_signs_in_and_sees_home(login_as):
    c = login_as("mayor_a")
    body = c.get("/").get_data(as_text=True)
    assert "Ailleville" in body
    assert '<html lang="fr">' in body
