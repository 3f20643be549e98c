"""Sentences for the synthetic corpus, generated from a small grammar this project wrote.

A grammar rather than a fixed list gives as many distinct sentences as a config asks for,
with a vocabulary rich in the phoneme classes speech enhancement must keep (fricatives,
plosives, nasals, vowels of different heights).
"""
SUBJECTS = ("the old farmer", "a young sailor", "my neighbour", "the tall engineer",
            "her brother", "the quiet student", "a busy doctor", "the choir teacher",
            "our pilot", "the baker's daughter", "a friendly shepherd", "the city mayor",
            "this clever fox", "the night nurse", "a patient fisherman", "the chess player")
VERBS = ("carried", "painted", "washed", "fixed", "found", "sold", "measured", "shared",
         "dropped", "borrowed", "checked", "polished", "delivered", "opened", "weighed",
         "wrapped")
OBJECTS = ("a heavy basket of plums", "the broken wooden chair", "seven silver spoons",
           "a thick bundle of letters", "the shiny brass kettle", "two jars of honey",
           "a map of the northern hills", "the green velvet jacket", "a box of sharp pencils",
           "the fresh loaf of bread", "a pair of leather boots", "the small glass lantern",
           "six bright yellow lemons", "the cracked garden hose", "a crate of ripe peaches",
           "the old church bell")
PLACES = ("across the narrow bridge", "behind the village school", "near the quiet harbour",
          "inside the crowded station", "along the muddy river bank", "under the oak tree",
          "beside the frozen pond", "through the busy market", "at the top of the stairs",
          "next to the bakery", "over the stone wall", "outside the theatre")
TIMES = ("before sunrise", "late last night", "on a windy Thursday", "after the storm",
         "during the long summer", "just before lunch", "every second morning",
         "in the middle of March", "while the kettle boiled", "as the clock struck nine")
QUESTIONS = ("Did you see who {verb} {obj} {place}?", "Why has {subj} {verb} {obj} {time}?",
             "Where was {obj} when {subj} came back {time}?")
STATEMENTS = ("{Subj} {verb} {obj} {place} {time}.", "{Subj} {verb} {obj} {time}.",
              "{Time_cap}, {subj} {verb} {obj} {place}.", "{Subj} {verb} {obj}.",
              "{Subj} quickly {verb} {obj} and then walked {place}.")


def sentence(rng):
    """One sentence drawn with ``rng`` (a numpy Generator)."""
    def pick(options):
        return options[int(rng.integers(len(options)))]
    subj, verb, obj, place, time = (pick(SUBJECTS), pick(VERBS), pick(OBJECTS), pick(PLACES),
                                    pick(TIMES))
    template = pick(QUESTIONS) if rng.random() < 0.15 else pick(STATEMENTS)
    return template.format(subj=subj, Subj=subj[0].upper() + subj[1:], verb=verb, obj=obj,
                           place=place, time=time, Time_cap=time[0].upper() + time[1:])
