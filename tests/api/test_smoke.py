def test_an_agent_can_open_reply_escalate_and_resolve_by_the_api(api, alice, maria, teams):
    agent = api(alice)
    response = agent.post(
        "/tickets",
        {
            "subject": "VPN down",
            "body": "It drops.",
            "requester_id": maria.pk,
            "channel": "phone",
            "team_id": teams["L1"].pk,
        },
    )
    assert response.status_code == 201, response.content
    ticket = response.json()
    assert ticket["number"] >= 1001
    assert ticket["channel"] == "phone"
    number = ticket["number"]
    r = agent.post(
        f"/tickets/{number}/messages",
        {"kind": "reply", "body": "Looking", "version": ticket["version"]},
    )
    assert r.status_code == 201, r.content
    r = agent.post(f"/tickets/{number}/escalate", {"reason": "needs L2"})
    assert r.status_code == 200, r.content
    assert r.json()["tier"] == "L2"
    assert r.json()["team"]["name"] == "Infrastructure L2"
    r = api(maria).get("/tickets")
    assert r.status_code == 200
    assert [t["number"] for t in r.json()["items"]] == [number]
