"""Two people acting on the same task at once: exactly one wins, the other gets 409."""

from __future__ import annotations

import threading

from tests.flow import act, task_for


def _race(api, user: str, path: str, bodies: list[dict]) -> list:
    api.login(user)
    barrier = threading.Barrier(len(bodies))
    results: list = [None] * len(bodies)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = api.post(path, user, json=bodies[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_simultaneous_approvals(api, demo):
    fid = api.post("/files", "clerk", json={"subject": "Race", "head": "11011"}).json()["id"]
    act(api, "clerk", task_for(api, "clerk", file_id=fid)["id"], action="forward", to="ds")
    task = task_for(api, "ds", file_id=fid)
    results = _race(api, "ds", f"/tasks/{task['id']}",
                    [{"action": "approve"}, {"action": "approve"}])
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["error"]["code"] == "conflict"
    events = api.get(f"/files/{fid}/history", "auditor").json()
    approvals = [e for e in events if e["kind"] == "task_completed"
                 and e["data"]["action"] == "approve"]
    assert len(approvals) == 1
    assert sum(1 for e in events if e["data"].get("handler") == "lock_file") == 1


def test_conflicting_actions_on_one_task(api):
    fid = api.post("/files", "clerk", json={"subject": "Race 2", "head": "11011"}).json()["id"]
    task = task_for(api, "clerk", file_id=fid)
    results = _race(api, "clerk", f"/tasks/{task['id']}",
                    [{"action": "forward", "to": "so"}, {"action": "forward", "to": "us"},
                     {"action": "forward", "to": "ds"}])
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409], [r.text for r in results]
    track = api.get(f"/files/{fid}/track", "clerk").json()
    assert len(track["movements"]) == 1
