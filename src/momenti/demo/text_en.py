"""English text material for the demo feedback and survey comments (expats and international customers).

Same structure and slots as ``text_it.py``; written for this project.
"""

from __future__ import annotations

TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "attesa": {
        "neg": (
            "I waited {min} minutes on the phone before talking to anyone",
            "nobody ever picks up the helpline",
            "{min} minutes of hold music and then the line dropped",
            "the call centre is impossible to reach",
            "every time I call I have to budget half an hour on hold",
            "they put me on hold {n} times in the same call",
            "the automated menu sends you round in circles and you never reach a person",
            "I asked for a callback and nobody ever called",
            "waiting times are a disgrace for a bank this size",
            "I was on the line for {min} minutes for something that took two minutes to fix",
        ),
        "neg_detail": (
            "I called on {weekday} {time} and again the next day.",
            "In the end I hung up after {min} minutes.",
            "Tried {n} times over two days.",
            "And the issue was urgent.",
            "Had to call from work on my lunch break.",
            "When someone finally answered the call dropped.",
        ),
        "pos": (
            "I got through to an agent almost straight away",
            "the helpline answered within {short_min} minutes",
            "they called me back within the hour as promised",
            "hardly any wait at all",
            "finally a call centre where you don't wait half an hour",
        ),
        "pos_detail": (
            "Called on {weekday} {time} and it was sorted in {short_min} minutes.",
            "No endless menu, a real person right away.",
        ),
    },
    "cortesia": {
        "neg": (
            "the agent was rude and dismissive",
            "she talked down to me like I was wasting her time",
            "zero empathy, it felt like he was reading a script",
            "the adviser kept interrupting me and never listened",
            "they tried to sell me the same insurance for the {nth} time after I'd said no",
            "every agent tells you something different",
            "nobody reads the notes, I had to explain everything from scratch",
            "I felt treated like a number",
        ),
        "neg_detail": (
            "I asked for a supervisor and was told that wasn't possible.",
            "I had to repeat my problem to {n} different people.",
            "In the end he just hung up on me.",
            "I've been a customer for {years} years, a bit of respect please.",
        ),
        "pos": (
            "the agent was incredibly kind and patient",
            "{name} walked me through everything step by step, really professional",
            "finally someone who listens and understands the problem",
            "friendly, competent and helpful staff",
            "she explained everything calmly and never made me feel stupid",
        ),
        "pos_detail": (
            "He even called me back the next day to check everything was fine.",
            "She already had my whole file in front of her, no need to repeat anything.",
            "Special thanks to {name}.",
        ),
    },
    "app": {
        "neg": (
            "the app won't let me log in",
            "the app freezes at login",
            "fingerprint login doesn't work anymore",
            "the app crashes as soon as I try to sign in",
            "the OTP code never arrives",
            "it says wrong credentials but they're correct",
            "the app is painfully slow and keeps throwing errors",
            "it locked me out after {n} attempts",
            "I haven't been able to get into the app for {days} days",
        ),
        "neg_detail": (
            "I'm on an up to date {phone}, so it's not my phone.",
            "Uninstalled and reinstalled {n} times.",
            "It just says 'error {errcode}' with no explanation.",
            "Couldn't even check my balance for {days} days.",
            "Needed to pay rent and couldn't.",
        ),
        "pos": (
            "the app is quick and easy to use",
            "I do everything in the app, haven't been to a branch in ages",
            "fingerprint login is super convenient",
            "clean app, everything is easy to find",
            "instant payment notifications are really useful",
        ),
        "pos_detail": (
            "Did a transfer and a top-up in {short_min} minutes.",
            "Even my {age} year old mum can use it.",
        ),
    },
    "commissioni": {
        "neg": (
            "the fees are sky high",
            "they charged me €{amount} in fees nobody had explained",
            "the monthly fee went up without any warning",
            "€{amount} for a transfer at the counter is daylight robbery",
            "hidden costs everywhere",
            "the account was supposed to be free and every quarter I find new charges",
        ),
        "neg_detail": (
            "Found €{amount} of charges on my {month} statement.",
            "Compared with an online bank and I'm paying three times as much.",
            "If nothing changes I'm moving my account.",
        ),
        "pos": (
            "clear and transparent costs",
            "finally an account with no surprises on the statement",
            "a fair monthly fee for what you get",
            "they refunded the fees without any argument",
        ),
        "pos_detail": (
            "In {years} years I've never seen a strange charge.",
        ),
    },
    "carta": {
        "neg": (
            "they blocked my card without telling me",
            "my card got blocked while I was abroad, no money at all",
            "I blocked my stolen card but the new one never arrived",
            "it's been {days} days since the card was blocked and still nothing",
            "the card is still blocked even though they said it was sorted",
            "I had to call {n} times about the same card",
            "card declined at the till, so embarrassing",
        ),
        "neg_detail": (
            "I was at the supermarket in {city} with my shopping already at the till.",
            "They said 5 working days, we're at {days}.",
            "Every time they say the request is being processed.",
            "Spent a whole weekend without a card.",
        ),
        "pos": (
            "I lost my wallet and they blocked the card in two minutes",
            "card blocked instantly and the new one arrived in a few days",
            "blocking the card in the app was really easy",
            "the agent blocked the card and reassured me straight away",
        ),
        "pos_detail": (
            "New card arrived after {short_days} days, already active.",
        ),
    },
    "rimborso": {
        "neg": (
            "still waiting for my €{amount} refund",
            "an unauthorised charge and nobody will give me my money back",
            "my refund claim has been stuck for {days} days",
            "they rejected my refund without any reason",
            "they promised the money back within a week",
            "they closed my complaint without ever really answering it",
        ),
        "neg_detail": (
            "I sent {n} emails with every receipt they asked for.",
            "It's my money and I want it back.",
            "The reply to my complaint came after {days} days and was copy and paste.",
        ),
        "pos": (
            "refund arrived within a few days",
            "they admitted the mistake straight away and credited €{amount} back",
            "the refund was handled perfectly",
            "my complaint was taken seriously and resolved",
        ),
        "pos_detail": (
            "They even sent an email summarising the case.",
        ),
    },
    "filiale": {
        "neg": (
            "only one counter open at the branch and a huge queue",
            "the {branch} branch has ridiculous opening hours",
            "it takes weeks to get a branch appointment",
            "they closed my local branch and now I have to drive {km} km",
            "the branch cash machine is always out of order",
        ),
        "neg_detail": (
            "Stood there for {min} minutes.",
            "Went on {weekday} morning and it was closed for training.",
            "The counter closes at 1pm, like it's 1985.",
        ),
        "pos": (
            "the staff at the {branch} branch are always lovely",
            "my adviser at the branch knows me and has looked after me for years",
            "got an appointment the same day and clear advice",
            "sorted everything at the counter in five minutes",
        ),
        "pos_detail": (
            "They spent almost an hour with me, no rush at all.",
        ),
    },
    "bonifico": {
        "neg": (
            "I made a transfer on {weekday} and {days} days later it still hasn't arrived",
            "the instant transfer is anything but instant",
            "my transfer was reversed for no reason",
            "they held a transfer for checks and nobody can tell me anything",
            "the transfer went out late and I paid a late fee on my rent",
        ),
        "neg_detail": (
            "€{amount}, not exactly pocket money.",
            "Only got the transaction reference after asking {n} times.",
        ),
        "pos": (
            "instant transfers really are instant",
            "I send transfers from the app in seconds",
            "my international transfer arrived earlier than expected",
        ),
        "pos_detail": (
            "PDF receipt available immediately.",
        ),
    },
    "mutuo": {
        "neg": (
            "my mortgage application has been dragging on for {months} months",
            "they asked for the same documents {n} times for the mortgage",
            "the mortgage rate changed at the last minute",
            "the mortgage approval came a few days before completion",
            "the mortgage adviser never answers calls or emails",
        ),
        "neg_detail": (
            "The notary was booked and the seller was threatening to pull out.",
            "Nobody can tell me where the valuation is.",
        ),
        "pos": (
            "the mortgage adviser looked after me brilliantly",
            "mortgage approved in record time",
            "clear mortgage terms from day one",
        ),
        "pos_detail": (
            "Completion in {city} went without a hitch.",
            "Approval came in {short_days} days as promised.",
        ),
    },
}

RELEASE = (
    "since version {version} came out nothing works",
    "since the March update login is a mess",
    "after the latest update it asks for the code every time and then errors out",
    "the new update broke fingerprint login",
    "did anyone test this update before releasing it?",
)

OPENINGS: dict[str, tuple[str, ...]] = {
    "neg": (
        "Terrible experience.", "Honestly speechless.", "Customer for {years} years and never treated like this.",
        "Writing for the umpteenth time.", "Disgraceful.", "So disappointed.", "Avoid this bank.",
        "Right.", "Seriously?", "I never write reviews but here we go.",
    ),
    "pos": (
        "Great experience.", "Credit where it's due.", "Have to say it:", "Customer for {years} years.",
        "Rarely leave reviews but this deserves one.", "Top service.", "Well done!",
    ),
    "mixed": (
        "Mixed feelings.", "So-so experience.", "Not all bad.", "Hmm.", "Depends on the day.",
    ),
}

FORMAL_OPENINGS: dict[str, tuple[str, ...]] = {
    "complaint": (
        "I am writing to make a formal complaint.",
        "Dear Banca Esempio, I wish to dispute the following.",
        "Subject: complaint.",
        "To the complaints department.",
    ),
    "email": ("Hello,", "Dear Banca Esempio,", "Hi,", "Good morning,", "Dear Sir or Madam,"),
}

CLOSINGS: dict[str, tuple[str, ...]] = {
    "neg": (
        "Shameful.", "Thinking about switching banks.", "Closing my account as soon as I can.",
        "Would not recommend.", "Hope someone reads this.", "Never again.", "Ridiculous.", "Avoid.",
        "One star is generous.",
    ),
    "pos": (
        "Thanks!", "Highly recommended.", "Keep it up.", "Five stars well deserved.", "Very happy.",
        "Thanks again to the whole team.",
    ),
    "mixed": ("Room for improvement.", "We'll see.", "Staying for now, not sure.", "Shame.", "Meh."),
}

FORMAL_CLOSINGS: dict[str, tuple[str, ...]] = {
    "complaint": (
        "I request a refund of the amount charged and a written reply within the legal deadline.",
        "I look forward to your reply.",
        "If I receive no answer I will take this to the banking ombudsman.",
        "Yours faithfully.",
    ),
    "email": ("Kind regards", "Thanks, regards", "Best", "Many thanks", "Have a good day"),
}

WRAPPERS_NEG = (
    "How is it possible that {s}?", "{s}. Unbelievable.", "Once again: {s}.", "{s}... absolutely ridiculous.",
    "Can't believe {s}.", "Long story short: {s}.",
)
CONNECTORS = {
    "neg": (" but ", ", although ", ". On the other hand ", ", shame that ", ", whereas "),
    "pos": (" but ", ", although ", ". On the other hand ", ". To be fair ", ". At least "),
}

SHORT: dict[str, tuple[str, ...]] = {
    "neg": ("awful", "avoid", "poor service", "a disgrace", "bad", "useless", "never answer", "so slow"),
    "pos": ("all good 👍", "great service", "perfect", "quick and friendly", "no complaints", "spot on",
            "thanks!", "sorted, thanks"),
    "mixed": ("so-so", "nothing special", "average", "could be better", "ok but slow", "fine I guess"),
}

INTERJECTIONS: dict[str, tuple[str, ...]] = {
    "neg": ("ugh", "smh", "ffs", "seriously", "unreal", "ngl", "lol no"),
    "pos": ("wow", "legends", "brilliant", "finally"),
}

ABBREVIATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("you", ("u",)), ("please", ("pls", "plz")), ("thanks", ("thx", "ty")), ("because", ("cuz", "bc")),
    ("minutes", ("mins",)), ("are", ("r",)), ("to be honest", ("tbh",)), ("for", ("4",)),
    ("people", ("ppl",)), ("really", ("rly",)), ("without", ("w/o",)), ("with", ("w/",)),
)
ACCENT_DROPS: tuple[tuple[str, str], ...] = (("'", ""),)

HASHTAGS = ("#bancaesempio", "#customerservice", "#banking", "#fail", "#expatlife", "#app")
MENTION = "@BancaEsempio"

SLOTS: dict[str, tuple[str, ...]] = {
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"),
    "month": ("January", "February", "March", "April", "May", "June", "July", "September", "October",
              "November", "December"),
    "city": ("Milan", "Rome", "Naples", "Turin", "Bologna", "Florence", "Verona", "Genoa", "Padua"),
    "branch": ("Milano Isola", "Roma Prati", "Bologna Centro", "Torino Crocetta", "Firenze Rifredi",
               "Verona", "Padova"),
    "name": ("Giulia", "Marco", "Francesca", "Luca", "Sara", "Andrea", "Chiara", "Paolo"),
    "phone": ("iPhone 15", "Samsung S23", "Pixel 8", "iPhone 13", "OnePlus"),
    "time": ("at 9am", "around 11", "at lunchtime", "at 3pm", "in the afternoon", "first thing"),
    "nth": ("third", "fourth", "fifth", "umpteenth"),
}
