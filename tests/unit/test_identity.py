import uuid

import pytest

from shared.identity import person_id_for
from shared.resident_id import InvalidResidentId


def test_person_id_is_stable_and_ignores_case_of_the_check_character():
    assert person_id_for("11010519491231002X") == person_id_for(" 11010519491231002x ")
    assert isinstance(person_id_for("11010519491231002X"), uuid.UUID)


def test_different_people_get_different_ids():
    assert person_id_for("11010519491231002X") != person_id_for("440524188001010014")


def test_invalid_number_has_no_person_id():
    with pytest.raises(InvalidResidentId):
        person_id_for("340524198001010013")
