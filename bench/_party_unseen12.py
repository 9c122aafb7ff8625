"""The twelfth held-out set of the hearing (issue 23, session 14): written and committed before
any rule, weight or threshold of that round was chosen or run, and run only once the round's
decision is frozen. The same mix as unseen8 to unseen11: about half the finished requests are
statements and half questions or asks; about two thirds of the fragments read whole when cut
(a clause that goes on with a place, a time, a reason, a comparison or a relative clause), the
rest lean on what follows (a modal, a preposition, a determiner, "to", a subordinator, a verb
that needs its object)."""

UNSEEN12_FINISHED = (
    "My brother sold his motorbike last week.",
    "How should I answer a rude email from a client?",
    "The neighbours adopted two kittens.",
    "Could you suggest a name for our book club?",
    "I missed the last bus home yesterday.",
    "What is a good stretch for a stiff neck?",
    "Our landlord raised the rent again.",
    "Should I learn Spanish or Italian first?",
    "The garden flooded after the storm.",
    "Can you help me plan a budget for the holidays?",
    "I started a new job on Monday.",
    "Why does my bread never rise properly?",
    "My daughter passed her driving test.",
    "Tell me how to fix a squeaky door.",
    "The museum was closed for repairs.",
    "Is it worth buying a second hand piano?",
    "We moved our wedding to the spring.",
    "How do I ask my manager for more training?",
    "My phone screen cracked in my pocket.",
    "Suggest a board game for six players.",
    "I ran out of milk before breakfast.",
    "When is the best time to plant tulips?",
    "Our team lost the final on penalties.",
    "What should I pack for a week in the mountains?",
    "The library stopped charging late fees.",
)
UNSEEN12_PAUSED = (
    ("I cleaned out the garage", "with my father on Saturday."),
    ("My neighbour plays the drums", "whenever I try to sleep."),
    ("We planted three apple trees", "along the fence at the back."),
    ("I gave up coffee", "after the doctor warned me."),
    ("The new office is bigger", "than the one we had before."),
    ("I wrote to the council", "because the streetlight is broken."),
    ("I know a plumber", "who can come round on weekends."),
    ("It was my aunt's", "plan to rent a cottage by the sea."),
    ("I booked the restaurant", "and my friends cancelled."),
    ("We might", "sell the flat next year."),
    ("The thing I miss most is", "the bakery near my old house."),
    ("I have a job interview", "on Tuesday afternoon."),
    ("I normally walk the dog", "before dinner on weekdays."),
    ("I am not sure whether", "my parents will visit this year."),
    ("My teacher told me to practise", "the scales every single day."),
    ("I have been saving money", "since the summer started."),
    ("I get nervous", "when I have to speak in meetings."),
    ("The manager asked us to finish", "the whole report by Thursday."),
    ("On Sundays I cook", "a big lunch for the family."),
    ("I promised to help my cousin", "but I hurt my back."),
    ("I keep thinking about", "the argument I had with my brother."),
    ("The plants grow faster", "when the window is open."),
    ("I need to find a present for", "my mother's sixtieth birthday."),
    ("I passed the exam", "even though I barely studied."),
    ("This winter I would like to", "learn how to ski properly."),
)
