import uuid

import pytest

from shared.identity import person_id_for, person_id_of
from shared.resident_id import InvalidResidentId, parse_resident_id


def test_person_id_is_stable_and_ignores_case_of_the_check_character():
    assert person_id_for("11010519491231002X") == person_id_for(" 11010519491231002x ")
    assert isinstance(person_id_for("11010519491231002X"), uuid.UUID)


def test_different_people_get_different_ids():
    assert person_id_for("11010519491231002X") != person_id_for("440524188001010014")


def test_invalid_number_has_no_person_id():
    with pytest.raises(InvalidResidentId):
        person_id_for("340524198001010013")


def test_a_validated_number_gives_the_same_person_id_as_its_text():
    for text in ("11010519491231002X", " 11010519491231002x ", "440524188001010014"):
        assert person_id_of(parse_resident_id(text)) == person_id_for(text)
