"""Which post receives a user task a diagram names by post code or by username.

`camunda:candidateGroups="SO-ADM"` gives the step to the post with that code;
`camunda:candidateUsers="asharma"` to the post that user holds when the step opens (the
step stays with the post if the user later moves). An assignee expression that gives a
username (`${initiator}`-style, as Camunda diagrams do) is read the same way. The names
are checked when the diagram is deployed, and again when the step opens.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidBpmn, InvalidInput
from engine.store.models import Post, User


def named_post(session: Session, task_spec: str, spec_meta: dict[str, Any]) -> int | None:
    """The post a step's candidates name, or None when the step uses its assignee."""
    if "post_code" in spec_meta:
        code = spec_meta["post_code"]
        post_id = session.scalar(select(Post.id).where(Post.code == code))
        if post_id is None:
            raise InvalidInput(f"task '{task_spec}': camunda:candidateGroups names the post "
                               f"'{code}', which does not exist")
        return post_id
    if "username" in spec_meta:
        return post_of_user(session, task_spec, spec_meta["username"], "camunda:candidateUsers")
    return None


def post_of_user(session: Session, task_spec: str, username: str, source: str) -> int:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise InvalidInput(f"task '{task_spec}': {source} names the user '{username}', "
                           "who does not exist or is not active")
    if user.post_id is None:
        raise InvalidInput(f"task '{task_spec}': {source} names the user '{username}', "
                           "who holds no post")
    return user.post_id


def unknown_names(session: Session, routed: list[dict[str, Any]]) -> list[dict]:
    """Deploy-time check: each named post code or username exists (element and line)."""
    found = []
    for entry in routed:
        where = {"element_id": entry["element_id"], "line": entry["line"]}
        if "post_code" in entry:
            code = entry["post_code"]
            if session.scalar(select(Post.id).where(Post.code == code)) is None:
                found.append({**where, "message": f"camunda:candidateGroups: no post has "
                              f"the code '{code}' (a group is a post code)"})
        elif "username" in entry:
            name = entry["username"]
            user = session.scalar(select(User).where(User.username == name))
            if user is None or not user.active:
                found.append({**where, "message": f"camunda:candidateUsers: no active user "
                              f"'{name}'"})
            elif user.post_id is None:
                found.append({**where, "message": f"camunda:candidateUsers: the user "
                              f"'{name}' holds no post"})
    return found


def refusal(found: list[dict]) -> InvalidBpmn:
    first = found[0]
    more = f"; and {len(found) - 1} more" if len(found) > 1 else ""
    return InvalidBpmn(f"BPMN rejected: {first['message']} (element {first['element_id']}, "
                       f"line {first['line']}){more}", found)
