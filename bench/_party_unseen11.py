"""The eleventh held-out set of the hearing (issue 23, session 13): written and committed before
any rule, weight or threshold of that round was chosen or run, and run only once the round's
decision is frozen. The same mix as unseen8 to unseen10: about half the finished requests are
statements and half questions or asks; about two thirds of the fragments read whole when cut
(a clause that goes on with a place, a time, a reason, a comparison or a relative clause), the
rest lean on what follows (a modal, a preposition, a determiner, "to", a subordinator, a verb
that needs its object)."""

UNSEEN11_FINISHED = (
    "My grandmother turned ninety on Sunday.",
    "How do I tell my team the deadline has moved?",
    "I burnt the dinner for our guests.",
    "Could you give me three questions to ask in an interview?",
    "The printer at the office broke again.",
    "What is the best way to start a running habit?",
    "I forgot my best friend's wedding anniversary.",
    "Should I mention my salary expectations first?",
    "Our shop closes early on Thursdays.",
    "Can you explain how to split the rent fairly?",
    "I spilled coffee over my laptop this morning.",
    "Why do I procrastinate on the tasks I enjoy?",
    "The kids painted the fence blue.",
    "Help me write a short note to my neighbour.",
    "I lost my keys on the train.",
    "Is it rude to leave a party without saying goodbye?",
    "My cousin opened a bakery downtown.",
    "How often should I check in with new hires?",
    "We finally paid off the mortgage.",
    "Give me an idea for a quiet birthday.",
    "I joined a choir at the community centre.",
    "Where should I put my savings for a year?",
    "The heating bill doubled this winter.",
    "What can I cook when I only have ten minutes?",
    "My flight home was cancelled twice.",
)
UNSEEN11_PAUSED = (
    ("I repaired the bicycle", "in my uncle's shed last night."),
    ("My colleague sings loudly", "whenever the radio is on."),
    ("We bought a second fridge", "for the drinks in the basement."),
    ("I stopped going to the gym", "after my knee started hurting."),
    ("The trains are slower", "than they were ten years ago."),
    ("I phoned the bank", "because my card was blocked."),
    ("I met a designer", "who used to work for a newspaper."),
    ("It was my uncle's", "idea to sell the old boat."),
    ("I painted the kitchen yellow", "and my wife wants it green."),
    ("We could", "hire a student for the summer."),
    ("The chore I hate doing most is", "ironing the bed sheets."),
    ("I have a dentist appointment", "on Friday morning."),
    ("I usually go swimming", "before work on Mondays."),
    ("I wonder if", "my sister will forgive me."),
    ("My boss told me to think about", "the budget for next year."),
    ("I have been learning to knit", "since the winter began."),
    ("I feel lonely", "when my flatmates go home for the holidays."),
    ("The director asked us to rewrite", "the whole proposal by Monday."),
    ("In the evenings I relax", "by reading detective novels."),
    ("I offered to drive everyone", "but the car broke down."),
    ("I keep worrying about", "the speech I have to give at the wedding."),
    ("The children sleep better", "when the curtains are closed."),
    ("I want to buy a new pair of", "boots for the hiking trip."),
    ("I finished the marathon", "although my legs were cramping."),
    ("Next month I am hoping to", "visit my friends in Lisbon."),
)
