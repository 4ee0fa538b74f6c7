"""The WHO 2020 entity table's integrity, its search, and the mapping of today's histotypes."""

from __future__ import annotations

from collections import Counter

import pytest

from cases.clinical.data import who_2020
from cases.clinical.who import (
    ENTITIES,
    HISTOTYPE_TO_ENTITY,
    ICDO_FORMAT,
    get_entity,
    map_histotype,
    search_entities,
)
from cases.models import Histotype

CATEGORIES = {
    who_2020.SOFT_TISSUE,
    who_2020.SOFT_TISSUE_INTERMEDIATE,
    who_2020.GIST,
    who_2020.ROUND_CELL,
    who_2020.BONE,
    who_2020.BONE_INTERMEDIATE,
}
CHAPTERS = {who_2020.AJCC_SOFT_TISSUE, who_2020.AJCC_GIST, who_2020.AJCC_BONE}


def test_keys_are_unique():
    keys = Counter(row[0] for row in who_2020.ENTITIES)
    assert [k for k, n in keys.items() if n > 1] == []


def test_codes_are_unique_except_where_who_shares_them():
    codes = Counter(entity.icdo for entity in ENTITIES.values())
    repeated = {code for code, n in codes.items() if n > 1}
    assert repeated <= set(who_2020.SHARED_CODES), repeated - set(who_2020.SHARED_CODES)
    # ... and every listed exception is a real repetition, not a stale note.
    assert set(who_2020.SHARED_CODES) <= repeated


def test_names_are_unique():
    names = Counter(entity.name.lower() for entity in ENTITIES.values())
    assert [name for name, n in names.items() if n > 1] == []


@pytest.mark.parametrize("entity", ENTITIES.values(), ids=lambda e: e.key)
def test_every_entity_is_well_formed(entity):
    assert ICDO_FORMAT.fullmatch(entity.icdo), entity.icdo
    assert entity.behaviour in ("0", "1", "3")
    assert entity.category in CATEGORIES
    assert isinstance(entity.fnclcc, bool)
    assert set(entity.ajcc_chapters) <= CHAPTERS
    # A tumour that FNCLCC does not grade says why.
    assert entity.fnclcc or entity.fnclcc_reason
    # Only malignant (/3) tumours are staged; intermediate (/1) ones are not.
    if entity.ajcc_chapters:
        assert entity.behaviour == "3"


@pytest.mark.parametrize(
    ("key", "icdo"),
    [
        # WHO 2020 codes for the entities the issue names
        ("well_differentiated_liposarcoma", "8851/3"),
        ("dedifferentiated_liposarcoma", "8858/3"),
        ("myxoid_liposarcoma", "8852/3"),
        ("pleomorphic_liposarcoma", "8854/3"),
        ("leiomyosarcoma", "8890/3"),
        ("synovial_sarcoma", "9040/3"),
        ("myxofibrosarcoma", "8811/3"),
        ("undifferentiated_pleomorphic_sarcoma", "8802/3"),
        ("mpnst", "9540/3"),
        ("embryonal_rhabdomyosarcoma", "8910/3"),
        ("alveolar_rhabdomyosarcoma", "8920/3"),
        ("pleomorphic_rhabdomyosarcoma", "8901/3"),
        ("spindle_cell_sclerosing_rhabdomyosarcoma", "8912/3"),
        ("angiosarcoma", "9120/3"),
        ("solitary_fibrous_tumour", "8815/1"),
        ("solitary_fibrous_tumour_malignant", "8815/3"),
        ("epithelioid_sarcoma", "8804/3"),
        ("alveolar_soft_part_sarcoma", "9581/3"),
        ("clear_cell_sarcoma", "9044/3"),
        ("dermatofibrosarcoma_protuberans", "8832/1"),
        ("extraskeletal_myxoid_chondrosarcoma", "9231/3"),
        ("kaposi_sarcoma", "9140/3"),
        ("desmoid_fibromatosis", "8821/1"),
        ("gist", "8936/3"),
        ("ewing_sarcoma", "9364/3"),
        ("round_cell_sarcoma_ewsr1_non_ets", "9366/3"),
        ("cic_rearranged_sarcoma", "9367/3"),
        ("bcor_sarcoma", "9368/3"),
        ("conventional_osteosarcoma", "9180/3"),
        ("telangiectatic_osteosarcoma", "9183/3"),
        ("parosteal_osteosarcoma", "9192/3"),
        ("periosteal_osteosarcoma", "9193/3"),
        ("atypical_cartilaginous_tumour", "9222/1"),
        ("chondrosarcoma_grade_1", "9222/3"),
        ("chondrosarcoma_grade_3", "9220/3"),
        ("dedifferentiated_chondrosarcoma", "9243/3"),
        ("mesenchymal_chondrosarcoma", "9240/3"),
        ("chordoma", "9370/3"),
        ("giant_cell_tumour_of_bone", "9250/1"),
    ],
)
def test_entities_the_board_needs_are_present_with_their_code(key, icdo):
    assert get_entity(key).icdo == icdo


@pytest.mark.parametrize(
    ("key", "fnclcc", "chapters"),
    [
        ("gist", False, (who_2020.AJCC_GIST,)),  # own chapter, mitotic rate
        ("desmoid_fibromatosis", False, ()),  # not a sarcoma: nothing applies
        ("kaposi_sarcoma", False, ()),  # excluded from FNCLCC and AJCC soft tissue
        ("conventional_osteosarcoma", False, (who_2020.AJCC_BONE,)),  # bone chapter
        ("chordoma", False, (who_2020.AJCC_BONE,)),
        ("leiomyosarcoma", True, (who_2020.AJCC_SOFT_TISSUE,)),
        ("dedifferentiated_liposarcoma", True, (who_2020.AJCC_SOFT_TISSUE,)),
    ],
)
def test_flags_follow_the_issue_rules(key, fnclcc, chapters):
    entity = get_entity(key)
    assert (entity.fnclcc, entity.ajcc_chapters) == (fnclcc, chapters)


@pytest.mark.parametrize("entity", ENTITIES.values(), ids=lambda e: e.key)
def test_no_bone_sarcoma_is_fnclcc_graded(entity):
    if entity.category in (who_2020.BONE, who_2020.BONE_INTERMEDIATE):
        assert not entity.fnclcc


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "dedifferentiated",
            {
                "dedifferentiated_liposarcoma",
                "dedifferentiated_chondrosarcoma",
                "dedifferentiated_chordoma",
            },
        ),
        ("lipo dediff", {"dedifferentiated_liposarcoma"}),  # every word a prefix
        ("DEDIFF LIPO", {"dedifferentiated_liposarcoma"}),  # case-insensitive, any order
        ("8858", {"dedifferentiated_liposarcoma"}),  # code prefix
        ("8858/3", {"dedifferentiated_liposarcoma"}),  # whole code
        ("9220", {"chondrosarcoma_grade_2", "chondrosarcoma_grade_3"}),
        (
            "ups",
            {"undifferentiated_pleomorphic_sarcoma", "undifferentiated_pleomorphic_sarcoma_bone"},
        ),  # synonym
        ("cic", {"cic_rearranged_sarcoma"}),
    ],
)
def test_search(query, expected):
    assert {e.key for e in search_entities(query)} == expected


@pytest.mark.parametrize("query", ["", "   ", "iposarcoma", "zzz"])
def test_search_finds_nothing_for_empty_or_mid_word_queries(query):
    assert search_entities(query) == []


def test_every_histotype_value_is_mapped():
    assert set(HISTOTYPE_TO_ENTITY) == set(Histotype.values)


@pytest.mark.parametrize(
    "value",
    ["liposarcoma_wd_dd", "rhabdomyosarcoma", "chondrosarcoma", "osteosarcoma", "other", "unknown"],
)
def test_ambiguous_histotypes_need_review(value):
    mapping = map_histotype(value)
    assert mapping.needs_review
    assert mapping.entity is None
    assert mapping.reason


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("ups", "undifferentiated_pleomorphic_sarcoma"),
        ("liposarcoma_myxoid", "myxoid_liposarcoma"),
        ("liposarcoma_pleomorphic", "pleomorphic_liposarcoma"),
        ("leiomyosarcoma", "leiomyosarcoma"),
        ("synovial", "synovial_sarcoma"),
        ("myxofibrosarcoma", "myxofibrosarcoma"),
        ("mpnst", "mpnst"),
        ("angiosarcoma", "angiosarcoma"),
        ("solitary_fibrous", "solitary_fibrous_tumour_malignant"),  # "SFT, malignant"
        ("desmoid", "desmoid_fibromatosis"),
        ("gist", "gist"),
        ("dfsp", "dermatofibrosarcoma_protuberans"),
        ("epithelioid", "epithelioid_sarcoma"),
        ("alveolar_soft_part", "alveolar_soft_part_sarcoma"),
        ("clear_cell", "clear_cell_sarcoma"),
        ("ewing", "ewing_sarcoma"),
        ("chordoma", "chordoma"),
        ("gctb", "giant_cell_tumour_of_bone"),
    ],
)
def test_unambiguous_histotypes_map_to_one_entity(value, key):
    mapping = map_histotype(value)
    assert (mapping.needs_review, mapping.entity.key) == (False, key)


def test_unknown_histotype_value_is_an_error():
    with pytest.raises(KeyError):
        map_histotype("sarcoma_nos")
