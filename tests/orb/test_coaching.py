"""The offline coach and the extractive summary: pure text, no audio."""

from __future__ import annotations

import pytest

from orb_bridge.coaching import (
    Turn,
    extractive_summary,
    key_topics,
    reflective_reply,
    stated_goals,
    to_second_person,
)
from testkit.speech import words


def test_words_are_turned_toward_the_client() -> None:
    assert to_second_person("I want my evenings back") == "you want your evenings back"
    assert to_second_person("I am tired and I was late") == "you are tired and you were late"
    assert to_second_person("The weather was nice") == "The weather was nice"


@pytest.mark.parametrize(("said", "question"), [
    ("I want to find more time for my family.", "first step"),
    ("I feel overwhelmed by my job.", "behind that feeling"),
    ("I can't get started on my thesis.", "helped you"),
    ("How do I talk to my boss?", "answer might be"),
    ("My manager keeps moving deadlines.", "about your manager"),
])
def test_the_reply_takes_up_the_clients_words_and_asks_what_fits(said: str,
                                                                  question: str) -> None:
    reply = reflective_reply(said)
    assert question in reply
    content = {w for w in words(said) if len(w) > 3} - {"want", "feel", "keeps"}
    assert content <= set(words(reply)), reply


def test_never_a_fixed_rotation() -> None:
    sayings = ["I want to run again.", "I want to run again.", "I feel stuck at work.",
               "My sister visits on Sunday."]
    replies = [reflective_reply(s) for s in sayings]
    assert replies[0] == replies[1]  # the same words get the same answer, whatever the turn
    assert len(set(replies)) == 3
    assert reflective_reply("um") == "I'm listening. Tell me more."


def test_extractive_summary_has_topics_and_the_clients_goals() -> None:
    turns = [Turn("client", "I want to find more time for my family. Work is crazy."),
             Turn("coach", "Tell me about your family evenings."),
             Turn("ai", "So you want more family time. What first?"),
             Turn("client", "My family matters most. I hope to cook dinner at home.")]
    topics = key_topics(turns)
    assert topics[0] == "family evenings"  # "family" is the humans' most repeated word
    human_text = " ".join(t.text for t in turns if t.role != "ai")
    for topic in topics:  # phrases of 2-5 words, each said word for word by a human
        assert 2 <= len(topic.split()) <= 5 and topic in human_text, topic
    assert stated_goals(turns) == ("I want to find more time for my family.",
                                   "I hope to cook dinner at home.")
    summary = extractive_summary(turns)
    assert summary.method == "extractive"
    assert summary.text.startswith("Key topics: family evenings, ")
    assert "- I hope to cook dinner at home." in summary.text
    assert "3 by the humans, 1 by the assistant" in summary.text


def test_topics_are_verbatim_phrases_never_single_words_and_share_no_word() -> None:
    turns = [Turn("client", "I have been feeling stuck at work lately. My manager keeps "
                            "adding projects, and I feel stuck."),
             Turn("ai", "Assistant words never count: orchestral manoeuvres orchestral."),
             Turn("client", "I want to talk to my manager about the projects.")]
    topics = key_topics(turns)
    assert topics and all(2 <= len(t.split()) <= 5 for t in topics)
    client_text = " ".join(t.text for t in turns if t.role == "client")
    assert all(t in client_text for t in topics)
    assert not any("orchestral" in t for t in topics)
    words = [w.lower() for t in topics for w in t.split() if len(w) > 3]
    assert len(words) == len(set(words))
    assert key_topics([Turn("client", "Hello.")]) == ()
