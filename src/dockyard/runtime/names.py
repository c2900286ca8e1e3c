"""Names for containers created without ``--name``: ``adjective_surname``, as Docker makes
them, from lists of our own.

The space is what keeps a create flat as containers pile up: each candidate costs a
lookup, and with 16 x 16 words every create past 256 containers walked dozens of taken
names. With ~100 x ~200 words, a thousand containers leave a candidate free 19 times in 20.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable

ADJECTIVES = (
    "adoring", "agile", "amazing", "amused", "ardent", "awesome", "blissful", "bold",
    "brave", "bright", "brisk", "busy", "calm", "candid", "careful", "cheerful", "clever",
    "cool", "cosmic", "crisp", "curious", "daring", "dazzling", "deft", "determined",
    "devoted", "diligent", "dreamy", "eager", "earnest", "ecstatic", "elastic", "elated",
    "elegant", "epic", "exact", "fearless", "festive", "fervent", "fluent", "focused",
    "fond", "frosty", "funny", "gallant", "gentle", "gifted", "gleaming", "glowing",
    "graceful", "happy", "hardy", "hopeful", "humble", "hungry", "inspired", "intrepid",
    "jolly", "jovial", "keen", "kind", "lively", "loyal", "lucid", "lucky", "magical",
    "mellow", "merry", "mighty", "modest", "musing", "nifty", "nimble", "noble", "patient",
    "peaceful", "playful", "plucky", "polite", "proud", "quick", "quiet", "quirky",
    "radiant", "rapid", "relaxed", "resolute", "serene", "sharp", "shiny", "silly",
    "sincere", "sleepy", "smart", "snappy", "spirited", "stoic", "sturdy", "sunny",
    "swift", "tender", "thirsty", "tidy", "trusting", "upbeat", "valiant", "vibrant",
    "vigilant", "vivid", "warm", "wise", "witty", "youthful", "zealous", "zen",
)

# People whose work the networks and computers under a container rest on.
SURNAMES = (
    "abel", "agnesi", "albattani", "allen", "ampere", "archimedes", "aryabhata", "babbage",
    "backus", "banach", "bardeen", "bartik", "bell", "berners", "bernoulli", "bhabha",
    "blackwell", "bohr", "boole", "borg", "bose", "brahmagupta", "brattain", "cantor",
    "carson", "cauchy", "cerf", "chandrasekhar", "chebyshev", "clarke", "codd", "conway",
    "copernicus", "corbato", "cray", "curie", "dahl", "darwin", "davies", "dijkstra",
    "dirac", "driscoll", "easley", "edison", "einstein", "elion", "engelbart", "euclid",
    "euler", "faraday", "feistel", "fermat", "fermi", "feynman", "fibonacci", "floyd",
    "fourier", "franklin", "galileo", "galois", "gauss", "germain", "gibbs", "godel",
    "goldberg", "goldwasser", "goodall", "gray", "hamilton", "hamming", "hawking",
    "heisenberg", "hellman", "hertz", "hilbert", "hodgkin", "hoare", "hollerith",
    "hopper", "hubble", "huffman", "hypatia", "jackson", "jacobi", "jemison", "jennings",
    "johnson", "joule", "kahn", "kalam", "kapitsa", "kare", "kay", "keldysh", "kepler",
    "kernighan", "khorana", "kilby", "kirch", "kleinrock", "knuth", "kolmogorov",
    "kowalevski", "lagrange", "lamarr", "lamport", "laplace", "leakey", "leavitt",
    "lebedev", "leibniz", "lehmann", "liskov", "lovelace", "lumiere", "mahavira",
    "mandelbrot", "margulis", "markov", "maxwell", "mayer", "mccarthy", "mcclintock",
    "mcnulty", "meitner", "mendel", "mendeleev", "merkle", "metcalfe", "minsky",
    "mirzakhani", "moore", "morse", "moser", "napier", "nash", "neumann", "newton",
    "nightingale", "nobel", "noether", "noyce", "nygaard", "ohm", "pascal", "pasteur",
    "payne", "perlman", "pike", "planck", "poincare", "poitras", "postel", "ptolemy",
    "raman", "ramanujan", "riemann", "ride", "ritchie", "rivest", "roentgen", "rosalind",
    "rubin", "saha", "sammet", "sanger", "shamir", "shannon", "shaw", "shirley",
    "shockley", "sinoussi", "snyder", "somerville", "spence", "stallman", "stonebraker",
    "sutherland", "swartz", "tesla", "thompson", "torvalds", "turing", "varahamihira",
    "vaughan", "villani", "visvesvaraya", "volta", "wescoff", "wiles", "williams",
    "wilson", "wing", "wozniak", "wright", "wu", "yalow", "yonath", "zhukovsky", "zuse",
)

ATTEMPTS = 16  # plain names tried before a digit is added, as Docker does on a retry


def random_name(is_taken: Callable[[str], bool]) -> str:
    """A generated name that ``is_taken`` does not refuse; once plain names keep colliding,
    one with a digit appended (Docker's retry form, ``bold_turing7``)."""
    for attempt in itertools.count():
        name = f"{secrets.choice(ADJECTIVES)}_{secrets.choice(SURNAMES)}"
        if attempt >= ATTEMPTS:
            name += str(secrets.randbelow(10))
        if not is_taken(name):
            return name
    raise AssertionError("unreachable")
