"""A six-document corpus shared by the framework adapter tests: (text, source) pairs."""

CORPUS = [
    ("Click on 'Forgot Password' on the login screen and follow the emailed link.", "help/password.md"),
    ("Giant pandas eat almost nothing but bamboo shoots and leaves.", "animals/pandas.md"),
    ("Use a strong password with numbers and symbols.", "help/security.md"),
    ("The Eiffel Tower is about 330 metres tall.", "travel/paris.md"),
    ("Bees make honey by collecting nectar and evaporating it in the hive.", "animals/bees.md"),
    ("Portuguese is the official language of Brazil.", "travel/brazil.md"),
]
