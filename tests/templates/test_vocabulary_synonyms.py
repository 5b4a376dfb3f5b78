"""The reviewed synonyms, abbreviations and phrases of ``vocabulary.toml`` in the name guard.

A learned template's function-name slot keeps its meaning words (``fixed``) and the words its
code is about (``keep``). Abbreviations and phrases that name the same thing (``hcf``, ``gcd``,
``greatest_common_divisor``; ``fib``, ``fibonacci``; ``LifoStack``, ``Stack``) must fill it;
a name that means another thing must still be refused, however close it looks
(``lcm``, ``least_common_multiple``, ``FifoQueue``, ``find_dups``). Each row was written before
the vocabulary changed; the ``near`` rows are the ones a careless synonym would let through.
"""

from __future__ import annotations

import pytest

from engine.templates.meaning import identifier_problem, pattern_words, value_words

GCD = ("gcd",)
GCD_WORDING = pattern_words("returns the greatest common divisor of 2 integers".split())
FIB_WORDING = pattern_words("returns the n th fibonacci number".split())  # "n-th": a hyphen is a word break
DEDUPE_WORDING = pattern_words("removes duplicates from a list while keeping the order".split())
STACK_WORDING = pattern_words("implementing a stack with push and pop".split())
SLUG_WORDING = pattern_words("turns a title into a URL slug".split())
#: A wording that states nothing: the name alone says what the function is.
BARE = pattern_words("function that takes its arguments".split())

SERVE = [
    ("hcf", GCD, frozenset(), GCD_WORDING),
    ("greatest_common_divisor", GCD, frozenset(), GCD_WORDING),
    ("highest_common_factor", GCD, frozenset(), GCD_WORDING),
    ("greatestCommonDivisor", GCD, frozenset(), GCD_WORDING),
    ("compute_gcd", GCD, frozenset(), GCD_WORDING),
    # learned from nth_fib: fixed nth, and the code is about "fib"
    ("fib", ("nth",), frozenset({"fib"}), FIB_WORDING),
    ("fibonacci", ("nth",), frozenset({"fib"}), FIB_WORDING),
    ("nth_fibonacci", ("nth",), frozenset({"fib"}), FIB_WORDING),
    ("remove_dups", ("dedupe",), frozenset(), DEDUPE_WORDING),
    ("drop_duplicates", ("dedupe",), frozenset(), DEDUPE_WORDING),
    ("LifoStack", ("stack",), frozenset(), STACK_WORDING),
    ("Stack", ("lifo", "stack"), frozenset(), STACK_WORDING),  # a template learned from LifoStack
    ("make_slug", ("slugify",), frozenset(), SLUG_WORDING),
    # kept words stored before the phrase table: each still stands in the name, inside the phrase
    ("remove_dups", (), frozenset({"remove", "duplicate"}), DEDUPE_WORDING),
    ("to_slug", ("slugify",), frozenset(), SLUG_WORDING),
]

NEAR = [
    ("lcm", GCD, frozenset(), GCD_WORDING, "another function"),
    ("least_common_multiple", GCD, frozenset(), GCD_WORDING, "the other common"),
    ("lowest_common_multiple", GCD, frozenset(), GCD_WORDING, "the other common"),
    ("greatest_divisor", GCD, frozenset(), BARE, "part of the phrase"),
    ("common_divisor", GCD, frozenset(), BARE, "part of the phrase"),
    ("gcd_sorted", GCD, frozenset(), GCD_WORDING, "an extra kind"),
    ("fib_sum", ("nth",), frozenset({"fib"}), pattern_words("returns the fibonacci number".split()), "nth unstated"),
    ("prime", ("nth",), frozenset({"fib"}), FIB_WORDING, "another sequence"),
    ("FifoQueue", ("stack",), frozenset(), STACK_WORDING, "the other discipline"),
    ("LifoQueue", ("lifo", "stack"), frozenset(), STACK_WORDING, "adds a queue"),
    ("Queue", ("stack",), frozenset(), STACK_WORDING, "another kind"),
    ("find_dups", ("dedupe",), frozenset(), BARE, "finds, does not remove"),
    ("count_duplicates", ("dedupe",), frozenset(), BARE, "counts, does not remove"),
    ("remove_dups_sorted", ("dedupe",), frozenset(), DEDUPE_WORDING, "an extra ordering"),
    ("slug_to_title", ("slugify",), frozenset(), BARE, "the other direction adds title"),
    ("validate_email", ("slugify",), frozenset(), SLUG_WORDING, "another thing"),
    ("hcf_sorted", GCD, frozenset(), BARE, "an extra kind after the abbreviation"),
    ("dedupe", (), frozenset({"remove", "duplicate"}), DEDUPE_WORDING, "drops a kept word"),
    ("lcm", GCD, frozenset(), BARE, "another function, bare"),
]

#: A name that contradicts what the wording states: the wording decides, as it does when the
#: template is learned (constrain.py never fixes a word the pattern states), so these are served
#: the code the wording asks for, under the name asked for.
WORDING_DECIDES = [
    ("greatest_divisor", GCD, GCD_WORDING),
    ("find_dups", ("dedupe",), DEDUPE_WORDING),
]


@pytest.mark.parametrize(("value", "fixed", "keep", "wording"), SERVE, ids=[r[0] for r in SERVE])
def test_a_name_for_the_same_thing_fills_the_slot(value, fixed, keep, wording) -> None:
    assert identifier_problem(value, fixed, keep, wording) is None


@pytest.mark.parametrize(("value", "fixed", "keep", "wording", "why"), NEAR, ids=[f"{r[0]}-{r[4]}" for r in NEAR])
def test_a_name_for_another_thing_is_refused(value, fixed, keep, wording, why) -> None:
    assert identifier_problem(value, fixed, keep, wording) is not None, why


@pytest.mark.parametrize(("value", "fixed", "wording"), WORDING_DECIDES, ids=[r[0] for r in WORDING_DECIDES])
def test_a_word_the_wording_states_need_not_be_in_the_name(value, fixed, wording) -> None:
    assert identifier_problem(value, fixed, frozenset(), wording) is None
    assert identifier_problem(value, fixed, frozenset(), BARE) is not None


def test_phrases_fold_only_when_whole_and_in_order() -> None:
    assert "gcd" in value_words("greatest_common_divisor")
    assert "gcd" not in value_words("divisor_common_greatest")
    assert "gcd" not in value_words("greatest_divisor")
    assert "dedupe" in value_words("removeDups")
    assert "dedupe" not in value_words("dups")
