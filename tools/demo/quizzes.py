"""The demo class's eight published quizzes: two per blueprint topic, four questions each,
written by hand from the demo materials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tools.demo.webapp import Question


@dataclass(frozen=True, slots=True)
class DemoQuiz:
    """A quiz as the teacher published it: its blueprint topic (by key) and how hard it is
    (subtracted from a student's ability when the demo draws their answers)."""

    title: str
    topic_key: str
    difficulty: float
    questions: tuple[Question, ...]


def _q(question: str, answer: str, wrong: tuple[str, str, str], explanation: str) -> Question:
    # The right answer's position rotates with the question's length, so it is not always first.
    choices = [*wrong]
    choices.insert(len(question) % 4, answer)
    a, b, c, d = choices
    return Question(question, (a, b, c, d), answer, explanation)


QUIZZES: Final = (
    DemoQuiz(
        "Newton's laws check",
        "forces-and-motion",
        0.00,
        (
            _q(
                "What is the SI unit of force?",
                "The newton",
                ("The joule", "The watt", "The pascal"),
                "Force is measured in newtons (N).",
            ),
            _q(
                "Which law says an object keeps its velocity unless a resultant force acts?",
                "Newton's first law",
                ("Newton's second law", "Newton's third law", "Hooke's law"),
                "The first law describes inertia.",
            ),
            _q(
                "Forces of 5 N and 3 N pull in opposite directions. What is the resultant?",
                "2 N towards the larger force",
                ("8 N", "15 N", "0 N"),
                "Opposite forces subtract: 5 N - 3 N = 2 N.",
            ),
            _q(
                "Why does a passenger lurch forwards when a car brakes suddenly?",
                "Inertia keeps the passenger moving",
                ("The seat pushes them", "Gravity increases", "Friction disappears"),
                "Without a force from the belt the passenger keeps moving.",
            ),
        ),
    ),
    DemoQuiz(
        "Forces calculations",
        "forces-and-motion",
        0.12,
        (
            _q(
                "A 2 kg mass accelerates at 3 m/s². What is the resultant force?",
                "6 N",
                ("1.5 N", "5 N", "0.67 N"),
                "F = m × a = 2 kg × 3 m/s² = 6 N.",
            ),
            _q(
                "A 10 N resultant force acts on a 5 kg trolley. What is its acceleration?",
                "2 m/s²",
                ("50 m/s²", "0.5 m/s²", "15 m/s²"),
                "a = F / m = 10 N / 5 kg.",
            ),
            _q(
                "What is the weight of a 5 kg mass where g = 9.8 N/kg?",
                "49 N",
                ("5 N", "0.51 N", "14.8 N"),
                "W = m × g = 5 × 9.8 N.",
            ),
            _q(
                "A 12 N force gives a box an acceleration of 4 m/s². What is its mass?",
                "3 kg",
                ("48 kg", "16 kg", "0.33 kg"),
                "m = F / a = 12 N / 4 m/s².",
            ),
        ),
    ),
    DemoQuiz(
        "Energy stores quiz",
        "energy-work-power",
        0.03,
        (
            _q(
                "Which energy store does a stretched spring have?",
                "Elastic potential",
                ("Kinetic", "Thermal", "Nuclear"),
                "Stretching or squashing stores elastic potential energy.",
            ),
            _q(
                "What is the unit of energy?",
                "The joule",
                ("The newton", "The watt", "The volt"),
                "Energy and work are measured in joules (J).",
            ),
            _q(
                "When a ball is lifted, which store increases?",
                "Gravitational potential",
                ("Chemical", "Elastic potential", "Magnetic"),
                "Raising an object increases its gravitational potential energy.",
            ),
            _q(
                "What happens to energy when it is 'used'?",
                "It is transferred to other stores",
                ("It is destroyed", "It turns into mass", "It disappears as heat only"),
                "Energy is conserved: it is transferred, never used up.",
            ),
        ),
    ),
    DemoQuiz(
        "Power and efficiency",
        "energy-work-power",
        0.15,
        (
            _q(
                "A motor transfers 600 J in 30 s. What is its power?",
                "20 W",
                ("18000 W", "0.05 W", "630 W"),
                "P = E / t = 600 J / 30 s.",
            ),
            _q(
                "A lamp wastes 60 J of every 100 J it receives. What is its efficiency?",
                "40%",
                ("60%", "100%", "160%"),
                "Useful output 40 J out of 100 J input.",
            ),
            _q(
                "How much work is done pushing a box 3 m with a 50 N force?",
                "150 J",
                ("16.7 J", "53 J", "47 J"),
                "W = F × d = 50 N × 3 m.",
            ),
            _q(
                "Which is most efficient: 80 J useful of 100 J, 45 J of 50 J, or 30 J of 60 J?",
                "45 J useful of 50 J",
                ("80 J useful of 100 J", "30 J useful of 60 J", "They are all equal"),
                "45/50 = 90% beats 80% and 50%.",
            ),
        ),
    ),
    DemoQuiz(
        "Atomic structure quiz",
        "atoms-and-bonding",
        0.00,
        (
            _q(
                "Which particle has no electric charge?",
                "The neutron",
                ("The proton", "The electron", "The ion"),
                "Neutrons are neutral.",
            ),
            _q(
                "What does the atomic number of an element count?",
                "Protons in the nucleus",
                ("Neutrons in the nucleus", "Protons and neutrons", "Electron shells"),
                "The atomic number is the number of protons.",
            ),
            _q(
                "Where is most of an atom's mass?",
                "In the nucleus",
                ("In the electron shells", "Spread evenly", "In the empty space"),
                "Protons and neutrons in the nucleus carry almost all the mass.",
            ),
            _q(
                "An atom has 11 protons and 12 neutrons. What is its mass number?",
                "23",
                ("11", "12", "1"),
                "Mass number = protons + neutrons.",
            ),
        ),
    ),
    DemoQuiz(
        "Bonding quiz",
        "atoms-and-bonding",
        0.10,
        (
            _q(
                "What kind of bond holds sodium chloride together?",
                "Ionic",
                ("Covalent", "Metallic", "Hydrogen"),
                "Na gives an electron to Cl, forming oppositely charged ions.",
            ),
            _q(
                "In a covalent bond, what do the atoms do with electrons?",
                "Share a pair of them",
                ("Transfer them", "Destroy them", "Turn them into protons"),
                "A covalent bond is a shared pair of electrons.",
            ),
            _q(
                "Which pair of elements is most likely to form an ionic compound?",
                "A metal and a non-metal",
                ("Two non-metals", "Two noble gases", "Two metals"),
                "Metals lose electrons that non-metals gain.",
            ),
            _q(
                "What is the charge on a chloride ion?",
                "1-",
                ("1+", "2-", "0"),
                "Chlorine gains one electron.",
            ),
        ),
    ),
    DemoQuiz(
        "Wave basics",
        "waves-and-sound",
        0.02,
        (
            _q(
                "What kind of wave is sound in air?",
                "Longitudinal",
                ("Transverse", "Electromagnetic", "Stationary only"),
                "Air particles vibrate along the direction the wave travels.",
            ),
            _q(
                "What is the unit of frequency?",
                "The hertz",
                ("The metre", "The second", "The decibel"),
                "Frequency is waves per second, in hertz (Hz).",
            ),
            _q(
                "Which of these can sound not travel through?",
                "A vacuum",
                ("Water", "Steel", "Air"),
                "Sound needs particles to pass the vibration on.",
            ),
            _q(
                "Ripples on a pond are an example of which kind of wave?",
                "Transverse",
                ("Longitudinal", "Sound", "Seismic P-wave"),
                "The water moves up and down, across the direction of travel.",
            ),
        ),
    ),
    DemoQuiz(
        "Wave equation practice",
        "waves-and-sound",
        0.14,
        (
            _q(
                "A wave has frequency 50 Hz and wavelength 2 m. What is its speed?",
                "100 m/s",
                ("25 m/s", "52 m/s", "0.04 m/s"),
                "v = f × λ = 50 Hz × 2 m.",
            ),
            _q(
                "Sound travels at 343 m/s. What is the wavelength of a 343 Hz note?",
                "1 m",
                ("343 m", "0.5 m", "117649 m"),
                "λ = v / f = 343 / 343.",
            ),
            _q(
                "A wave moves at 12 m/s with wavelength 3 m. What is its frequency?",
                "4 Hz",
                ("36 Hz", "0.25 Hz", "15 Hz"),
                "f = v / λ = 12 / 3.",
            ),
            _q(
                "If the frequency doubles at constant speed, what happens to the wavelength?",
                "It halves",
                ("It doubles", "It stays the same", "It quadruples"),
                "λ = v / f, so λ falls as f rises.",
            ),
        ),
    ),
)
