"""The organisation CSV import: every problem named by row and column, all rows or none."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidInput
from engine.ops.org_import import import_organisation
from engine.store.models import Post, User

HEADER = ("department_code,department_name,section_code,section_name,post_code,post_title,"
          "rank,can_approve,superior_post,monitors,username,full_name,role,email,phone,"
          "language,password\n")


def counts(service) -> tuple[int, int]:
    with service.db.reader() as s:
        return (s.scalar(select(func.count()).select_from(Post)),
                s.scalar(select(func.count()).select_from(User)))


def problems(service, text: str) -> list[tuple[int, str]]:
    before = counts(service)
    with pytest.raises(InvalidInput) as caught:
        import_organisation(service.db, text)
    assert counts(service) == before  # nothing imported
    return [(d["row"], d["column"]) for d in caught.value.details]


def test_import_with_hierarchy_and_given_password(service):
    text = HEADER + (
        "FIN,Finance,BUD,Budget,FIN-BUD-DA,Dealing Assistant,1,no,FIN-BUD-SO,,ravi,Ravi K,,"
        "ravi@fin.example.gov.in,+91 90000 00001,en,Amber-river-stone-42\n"
        "FIN,Finance,BUD,Budget,FIN-BUD-SO,Section Officer,2,yes,,section,,,,,,,\n")
    result = import_organisation(service.db, text)
    assert (result.departments, result.sections, result.posts, result.users) == (1, 1, 2, 1)
    assert result.passwords == {}
    user = service.authenticate("ravi", "Amber-river-stone-42")
    with service.db.reader() as s:
        da = s.scalar(select(Post).where(Post.code == "FIN-BUD-DA"))
        so = s.scalar(select(Post).where(Post.code == "FIN-BUD-SO"))
        assert da.superior_post_id == so.id
        assert so.can_approve
        assert so.monitors == "section"
        assert user.post_id == da.id
        assert user.phone == "+91 90000 00001"


def test_every_bad_row_is_named(service):
    text = HEADER + (
        "fin,Finance,BUD,Budget,FIN-BUD-DA,,7,perhaps,,everything,Ravi,ravi,,not-mail,,fr,abc\n"
        ",,,,,,,,,,,No Name,auditor,,,,\n"
        "FIN,Finance,BUD,Budget,FIN-BUD-X,Clerk,1,no,,,officer1,Officer,,,,,\n"
        "FIN,Other name,BUD,Budget,FIN-BUD-X,Clerk,1,no,,,officer1,Officer,wizard,,,,\n")
    found = problems(service, text)
    assert (2, "department_code") in found
    assert (2, "post_title") in found
    assert (2, "rank") in found
    assert (2, "can_approve") in found
    assert (2, "monitors") in found
    assert (2, "username") in found
    assert (2, "email") in found
    assert (2, "language") in found
    assert (2, "password") in found
    assert (3, "username") in found
    assert (5, "department_name") in found
    assert (5, "post_code") in found
    assert (5, "username") in found
    assert (5, "role") in found


def test_superiors_must_exist_and_not_loop(service):
    text = HEADER + (
        "D,Dept,S,Sec,P-A,A,1,no,P-B,,,,,,,,\n"
        "D,Dept,S,Sec,P-B,B,2,no,P-A,,,,,,,,\n"
        "D,Dept,S,Sec,P-C,C,2,no,P-Z,,,,,,,,\n")
    found = problems(service, text)
    assert (2, "superior_post") in found
    assert (3, "superior_post") in found
    assert (4, "superior_post") in found


def test_existing_users_and_posts_are_refused(demo):
    text = HEADER + ("GAD,General Administration,EST,Establishment,GAD-EST-DA,DA,1,no,,,clerk,C,"
                     ",,,,\n")
    assert problems(demo, text) == [(2, "post_code"), (2, "username")]


def test_unknown_and_missing_columns(service):
    with pytest.raises(InvalidInput) as caught:
        import_organisation(service.db, "department,username\nX,y\n")
    found = {(d["column"], d["message"]) for d in caught.value.details}
    assert ("department", "unknown column") in found
    assert ("post_code", "required column missing") in found


OFFICE_HEADER = HEADER.rstrip("\n") + ",office_code,office_name,office_kind,office_parent\n"


def test_offices_are_imported_under_their_parents(service):
    from engine.store.admin_models import Office
    from engine.store.models import Section

    text = OFFICE_HEADER + (
        # the district comes before its division in the file: parents are made first
        "REV,Revenue,SEH,Revenue Sehore,SEH-DA,Dealing Assistant,1,no,,,sehda,Asha Rai,,,,,,"
        "REV-SEH,Collectorate Sehore,district,REV-BPL\n"
        "REV,Revenue,BPL,Commissioner's office,BPL-COMM,Commissioner,6,no,,office,commr,"
        "Vivek Jain,,,,,,REV-BPL,Bhopal Division,division,REV-SECTT\n"
        "REV,Revenue,LR,Land records,REV-SO,Section Officer,2,yes,,,,,,,,,,"
        "REV-SECTT,Revenue Secretariat,secretariat,\n")
    result = import_organisation(service.db, text)
    assert (result.departments, result.offices, result.sections, result.posts) == (1, 3, 3, 3)
    with service.db.reader() as s:
        tree = {o.code: o for o in s.scalars(select(Office))}
        assert tree["REV-SEH"].parent_id == tree["REV-BPL"].id
        assert tree["REV-BPL"].parent_id == tree["REV-SECTT"].id
        seh = s.scalar(select(Section).where(Section.code == "SEH"))
        assert seh.office_id == tree["REV-SEH"].id
        assert s.scalar(select(Post.monitors).where(Post.code == "BPL-COMM")) == "office"


def test_bad_office_rows_are_named_and_nothing_imported(service):
    text = OFFICE_HEADER + (
        "REV,Revenue,SEH,Revenue Sehore,SEH-DA,Dealing Assistant,1,no,,,sehda,Asha Rai,,,,,,"
        "REV-SEH,Collectorate Sehore,district,REV-NOWHERE\n"
        "REV,Revenue,FLD,Tehsil,FLD-RI,Revenue Inspector,1,no,,,ri,Sunil M,,,,,,"
        "REV-FLD,,hamlet,\n"
        "REV,Revenue,DIV,Division,DIV-DA,Dealing Assistant,1,no,,,divda,Ritu Sen,,,,,,"
        "REV-DIV,Bhopal Division,division,REV-SEH\n"
        "REV,Revenue,X,X,X-DA,Dealing Assistant,1,no,,,xda,X Y,,,,,,,,,REV-SEH\n")
    found = problems(service, text)
    assert (2, "office_parent") in found  # no such parent
    assert (3, "office_name") in found
    assert (3, "office_kind") in found
    assert (4, "office_parent") in found  # a division under a district
    assert (5, "office_parent") in found  # parent without an office_code
