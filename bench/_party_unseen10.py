"""The tenth held-out set of the hearing (issue 23, session 12): written and committed before
any rule, weight or threshold of that round was chosen or run, and run only once the round's
decision is frozen. The same mix as unseen8 and unseen9: about half the finished requests are
statements and half questions or asks; about two thirds of the fragments read whole when cut
(a clause that goes on with a place, a time, a reason, a comparison or a relative clause), the
rest lean on what follows (a modal, a preposition, a determiner, "to", a subordinator, a verb
that needs its object)."""

UNSEEN10_FINISHED = (
    "I keep forgetting to drink water during the day.",
    "How can I stop replaying old arguments in my head?",
    "My daughter starts school next month.",
    "Could you suggest a way to end meetings on time?",
    "I sold my car last week.",
    "What should I say when someone takes credit for my work?",
    "I have been sleeping badly since the move.",
    "Is it too late to learn the piano at forty?",
    "The new project manager is very strict.",
    "Can you help me prepare for my annual review?",
    "I spent the whole weekend cleaning the garage.",
    "How do I ask my landlord to fix the heating?",
    "My brother wants to borrow money again.",
    "Which habit should I work on first?",
    "We adopted a puppy in October.",
    "Would it help to keep a diary of my moods?",
    "I would like to travel alone this year.",
    "Why does small talk make me so nervous?",
    "Our budget was cut by a third.",
    "Do you think I talk too much in meetings?",
    "I finished the first draft of my report.",
    "Tell me how to say no to extra shifts.",
    "I am tired of commuting every day.",
    "What is a kind way to end a friendship?",
    "My neighbours are moving away in the spring.",
)
UNSEEN10_PAUSED = (
    ("I started learning Spanish", "with an app on my phone."),
    ("My partner and I argue", "about whose turn it is to cook."),
    ("I walk the dog", "before breakfast every day."),
    ("I would like to feel more confident", "when I speak to senior staff."),
    ("My old flat was much quieter", "than the place I live in now."),
    ("I missed my sister's birthday", "because I was stuck at the airport."),
    ("I read an article", "that made me question my spending."),
    ("It was my mentor's", "suggestion to change departments."),
    ("We redesigned the website twice", "and the client still wants changes."),
    ("I might", "ask for a transfer to the London office."),
    ("The email I dread sending most is", "the one to my old boss."),
    ("I have an appointment with my doctor", "on Tuesday afternoon."),
    ("I normally reply to messages", "during my lunch break."),
    ("I am not sure whether", "my team trusts my decisions."),
    ("My friend asked me to look after", "her cat while she is away."),
    ("I have been saving money", "every month since January."),
    ("I get irritable", "when I skip my morning run."),
    ("My manager wants me to present", "the results to the whole department."),
    ("On weekends I unwind", "by going for long walks in the hills."),
    ("I volunteered to organise the party", "but nobody helped me plan it."),
    ("I keep thinking about", "the comment my colleague made on Friday."),
    ("Our calls run smoothly", "when someone writes an agenda first."),
    ("I need to have a word with my", "neighbour about the noise."),
    ("I passed the exam", "even though I barely studied for it."),
    ("This autumn we are planning to", "move closer to my parents."),
)
