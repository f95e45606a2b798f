"""Seed materials for the demo class "Physics & Chemistry 101".

Four secondary-school topics written as Markdown, so a fresh install has something to chunk,
search and build quizzes from. The ids are fixed so that re-seeding is idempotent: a seeder can
upsert by id instead of piling up copies of the same material.
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_CLASS_NAME = "Physics & Chemistry 101"


@dataclass(frozen=True)
class DemoMaterial:
    """One class material as a seeder stores it: a stable id, a title, its format and the text."""

    id: str
    title: str
    source_type: str
    text: str


def _unwrap(source: str) -> str:
    """Rejoin the hard-wrapped source lines below into one line per paragraph or list item.

    The texts are wrapped only to respect the line-length limit of this file. Headings (`#`) and
    list items (`- `) always start a new line, a blank line ends a paragraph, and any other line
    continues the paragraph or list item above it.
    """
    lines: list[str] = []
    for raw in source.strip().splitlines():
        line = raw.strip()
        starts_block = not line or line.startswith(("#", "- "))
        if lines and lines[-1] and not starts_block and not lines[-1].startswith("#"):
            lines[-1] = f"{lines[-1]} {line}"
        else:
            lines.append(line)
    return "\n".join(lines)


_NEWTON_TEXT = _unwrap(
    """\
# Forces and Newton's Laws of Motion

## What is a force?

A force is a push or a pull that acts on an object because of its interaction with another
object. Forces are vector quantities, which means they have both a size (magnitude) and a
direction. The SI unit of force is the newton, symbol N. One newton is the force needed to give
a mass of one kilogram an acceleration of one metre per second squared, so 1 N = 1 kg·m/s². In
the laboratory, forces are measured with a newton meter, a spring balance whose spring stretches
further as the pull increases.

When several forces act on one object, they can be combined into a single resultant force, also
called the net force. Two forces of 5 N and 3 N pulling in the same direction give a resultant
force of 8 N; if they pull in opposite directions, the resultant force is 2 N in the direction
of the larger force. When the forces on an object cancel out, the resultant force is zero and
the forces are said to be balanced.

## Newton's first law

Newton's first law states that an object stays at rest, or keeps moving at a constant velocity
in a straight line, unless a resultant force acts on it. The tendency of an object to resist
changes to its motion is called inertia, and the more mass an object has, the greater its
inertia. A passenger in a car that brakes suddenly keeps moving forwards because of inertia,
which is why seat belts are needed: the belt supplies the force that slows the passenger down
together with the car.

A moving object does not need a force to keep it moving: a hockey puck sliding on smooth ice
travels a long way because very little force acts against it. Objects on Earth slow down because
friction and air resistance act on them.

## Newton's second law

Newton's second law links the resultant force on an object to the acceleration it produces. It
is written as F = m × a, where F is the resultant force in newtons, m is the mass in kilograms
and a is the acceleration in metres per second squared (m/s²). The acceleration always points in
the same direction as the resultant force.

For example, a resultant force of 20 N acting on a 4 kg trolley gives an acceleration of 20 ÷ 4
= 5 m/s². If the same force acts on an 8 kg trolley, the acceleration halves to 2.5 m/s².
Doubling the force on a fixed mass doubles the acceleration, so acceleration is directly
proportional to the resultant force and inversely proportional to the mass.

## Newton's third law

Newton's third law states that when object A exerts a force on object B, object B exerts a force
on object A that is equal in size and opposite in direction. The two forces form an
action–reaction pair. They always act on different objects and are always the same type of
force.

A swimmer pushes water backwards with her hands, and the water pushes the swimmer forwards. A
rocket expels hot exhaust gases downwards at high speed, and the gases push the rocket upwards.
Because the two forces in a pair act on different objects, they never cancel each other out.

## Mass and weight

Mass and weight are often confused in everyday speech, but in physics they are different
quantities. Mass is the amount of matter in an object; it is measured in kilograms (kg) and does
not change when the object is moved to another place. Weight is the gravitational force that a
planet or moon exerts on the object, and like any force it is measured in newtons.

Weight is calculated with W = m × g, where g is the gravitational field strength. Near the
surface of the Earth, g = 9.8 m/s², which can also be written as 9.8 N/kg. A student with a mass
of 50 kg therefore has a weight of 50 × 9.8 = 490 N on Earth. On the Moon, where g is about 1.6
m/s², the same student would still have a mass of 50 kg but would weigh only about 80 N.

Without air resistance, all objects fall with the same acceleration of 9.8 m/s², whatever their
mass. A hammer and a feather dropped together on the Moon hit the ground at the same moment,
because the Moon has no atmosphere to slow the feather down.

## Friction and air resistance

Friction is a contact force that opposes the motion of two surfaces that slide, or try to slide,
across each other. It arises because even smooth-looking surfaces have tiny bumps that catch on
each other. Rough surfaces such as sandpaper produce more friction than smooth surfaces such as
polished ice, and pressing the surfaces together more firmly also increases friction.

Friction can be useful. The grip between tyres and the road lets a car accelerate, turn and
brake, and the friction between shoe soles and the floor stops us slipping. However, friction in
machines wastes energy as heat and wears moving parts away, so engineers reduce it with
lubricants such as oil and with ball bearings.

Air resistance, also called drag, is a frictional force that acts on objects moving through air,
and it increases as speed increases. A skydiver who jumps from a plane accelerates at first, but
as she speeds up the air resistance grows until it equals her weight. The resultant force is
then zero, so she stops accelerating and falls at a steady speed called terminal velocity.
Opening a parachute greatly increases the air resistance, which lowers her terminal velocity to
a safe landing speed.

## Key points

- Force is measured in newtons (N), and 1 N = 1 kg·m/s².
- First law: with no resultant force, an object's velocity does not change.
- Second law: F = m × a.
- Third law: forces come in equal and opposite pairs that act on different objects.
- Weight W = m × g, with g = 9.8 m/s² on Earth; mass is measured in kilograms and weight in
  newtons.
- Friction opposes motion and transfers energy to the surroundings as heat.
"""
)


_ENERGY_TEXT = _unwrap(
    """\
# Energy, Work and Power

## Energy and its stores

Energy is the capacity to do work or to cause change. The SI unit of energy is the joule, symbol
J. One joule is a small amount: lifting an apple that weighs about 1 N through a height of 1 m
needs roughly 1 J of energy. Larger amounts are written in kilojoules (1 kJ = 1000 J) or
megajoules (1 MJ = 1 000 000 J).

Energy can be described as being held in different stores. Examples include the kinetic store of
a moving object, the gravitational potential store of an object raised above the ground, the
elastic potential store of a stretched spring, the chemical store of food and fuels, the thermal
store of a hot object and the nuclear store of atomic nuclei. Energy is transferred between
stores by forces doing work, by heating, by electric currents and by waves such as light and
sound.

## Work done

In physics, work is done whenever a force moves an object through a distance in the direction of
the force. The work done is calculated with W = F × d, where W is the work done in joules, F is
the force in newtons and d is the distance moved in metres. One joule of work is done when a
force of one newton moves an object through one metre, so 1 J = 1 N·m.

For example, pushing a box across the floor with a force of 50 N for a distance of 4 m does 50 ×
4 = 200 J of work. If a force acts but nothing moves, as when you push against a solid wall, no
work is done on the wall, even though your muscles get tired. The work done is equal to the
energy transferred, so the 200 J used to push the box ends up in the thermal store of the box
and the floor because of friction.

## Kinetic energy

Every moving object has energy in its kinetic store. The kinetic energy is given by Ek = ½ × m ×
v², where m is the mass in kilograms and v is the speed in metres per second. Because the speed
is squared, doubling the speed of an object multiplies its kinetic energy by four.

A car with a mass of 1000 kg travelling at 10 m/s has a kinetic energy of ½ × 1000 × 10² = 50
000 J, or 50 kJ. At 20 m/s the same car has 200 kJ of kinetic energy. This is one reason why
braking distances increase so sharply with speed: the brakes must remove all of the kinetic
energy before the car stops.

## Gravitational potential energy

An object lifted above the ground gains energy in its gravitational potential store. The change
in gravitational potential energy is Ep = m × g × h, where m is the mass in kilograms, g is the
gravitational field strength (9.8 N/kg on Earth) and h is the change in height in metres.

Lifting a 2 kg bag of flour onto a shelf 1.5 m high increases its gravitational potential energy
by 2 × 9.8 × 1.5 = 29.4 J. If the bag falls off the shelf, this energy is transferred to its
kinetic store as it speeds up.

## Conservation of energy

The law of conservation of energy states that energy cannot be created or destroyed; it can only
be transferred from one store to another. The total energy of a closed system therefore stays
the same.

A swinging pendulum shows this clearly. At the highest point of each swing the bob is
momentarily at rest, and its energy is mostly in the gravitational potential store. At the
lowest point the bob moves fastest, because that energy has been transferred to its kinetic
store. Over many swings the pendulum gradually stops, because each time a little energy is
transferred to the thermal store of the surroundings by air resistance and by friction at the
pivot. The energy has not disappeared; it has spread out and become less useful.

## Power

Power is the rate at which energy is transferred or work is done. It is calculated with P = E ÷
t, where P is the power in watts, E is the energy transferred in joules and t is the time in
seconds. The SI unit of power is the watt, symbol W, and one watt is a transfer of one joule per
second. Larger powers are given in kilowatts (1 kW = 1000 W).

Two students of equal weight who climb the same flight of stairs do the same amount of work, but
the student who climbs faster develops a greater power. A 60 W lamp transfers 60 J of energy
every second, so in one minute it transfers 60 × 60 = 3600 J.

## Efficiency

No real device transfers all of its input energy to the store we want. The useful output is
always less than the input, and the rest is usually wasted as heat in the surroundings.
Efficiency measures the fraction of the input energy that is transferred usefully: efficiency =
useful energy output ÷ total energy input.

Efficiency has no unit and is often given as a percentage by multiplying by 100. An electric
motor that receives 500 J of electrical energy and delivers 400 J of useful kinetic energy has
an efficiency of 400 ÷ 500 = 0.8, or 80 %. The remaining 100 J is wasted, mostly as heat and
sound. An efficiency of 100 % is impossible for any real machine, because some energy is always
dissipated. Engineers improve efficiency by reducing friction with lubrication and by cutting
unwanted heat loss with thermal insulation.

## Key points

- Energy and work are measured in joules (J); power is measured in watts (W).
- Work done: W = F × d.
- Kinetic energy: Ek = ½mv²; gravitational potential energy: Ep = mgh.
- Energy is conserved: it moves between stores but is never created or destroyed.
- Efficiency = useful output ÷ total input, which is always less than 100 % for a real device.
"""
)


_ATOMS_TEXT = _unwrap(
    """\
# Atoms, the Periodic Table and Chemical Bonding

## Inside the atom

All matter is made of atoms, the smallest particles of an element that keep its chemical
properties. An atom has a tiny, dense nucleus at its centre, surrounded by electrons. The
nucleus contains protons and neutrons, which together are called nucleons.

The three subatomic particles differ in charge and mass:

- A proton has a relative charge of +1 and a relative mass of 1.
- A neutron has no charge and a relative mass of 1.
- An electron has a relative charge of −1 and a relative mass of about 1/1836, which is so small
  that it is often treated as zero.

An atom has equal numbers of protons and electrons, so its overall charge is zero. Atoms are
extremely small: a typical atom has a radius of about 0.1 nanometres (1 × 10⁻¹⁰ m), and the
nucleus is roughly 10 000 times smaller than the whole atom. Almost all of the mass of an atom
is in the nucleus, and most of the atom is empty space.

## Atomic number and mass number

The atomic number (symbol Z) is the number of protons in the nucleus of an atom. Every atom of a
given element has the same atomic number: every carbon atom has 6 protons, every oxygen atom has
8 and every sodium atom has 11. The mass number (symbol A) is the total number of protons and
neutrons in the nucleus, so the number of neutrons is found by subtracting the atomic number
from the mass number.

For example, an atom of sodium-23 has a mass number of 23 and an atomic number of 11, so it has
23 − 11 = 12 neutrons. Atoms of the same element with different numbers of neutrons are called
isotopes. Carbon-12 and carbon-14 are both isotopes of carbon: each has 6 protons, but carbon-12
has 6 neutrons and carbon-14 has 8. Isotopes of an element have the same chemical properties
because they have the same number of electrons.

## Electron shells

Electrons occupy energy levels called shells around the nucleus. In the simple model used at
school, the first shell holds up to 2 electrons, and the second and third shells hold up to 8
electrons each. The shells closest to the nucleus fill first. Sodium, with 11 electrons, has the
electron arrangement 2,8,1, and chlorine, with 17 electrons, has the arrangement 2,8,7. The
electrons in the outer shell decide how an element reacts.

## The periodic table

The periodic table arranges the elements in order of increasing atomic number. It was developed
by the Russian chemist Dmitri Mendeleev, who published an early version in 1869 and left gaps
for elements that had not yet been discovered. The horizontal rows are called periods and the
vertical columns are called groups.

Elements in the same group have the same number of electrons in their outer shell, which is why
they have similar chemical properties. The alkali metals in group 1, such as lithium, sodium and
potassium, each have one outer electron and react vigorously with water to form hydrogen gas and
an alkaline solution. The halogens in group 7, such as fluorine, chlorine and bromine, each have
seven outer electrons. The noble gases in group 0 (also called group 18), such as helium, neon
and argon, have full outer shells and are very unreactive. The period number of an element tells
you how many occupied shells its atoms have. Metals are found on the left and in the centre of
the table, and non-metals are found on the right.

## Why atoms bond

Atoms bond together to reach a more stable arrangement, usually a full outer shell of electrons
like that of a noble gas. They can do this by transferring electrons from one atom to another or
by sharing electrons between atoms.

## Ionic bonding

Ionic bonding happens between a metal and a non-metal. The metal atom loses its outer electrons
and becomes a positive ion, while the non-metal atom gains electrons and becomes a negative ion.
The oppositely charged ions are held together by strong electrostatic attraction.

In sodium chloride (table salt, NaCl), each sodium atom transfers one electron to a chlorine
atom, forming Na⁺ and Cl⁻ ions. Huge numbers of these ions pack together in a regular
arrangement called a giant ionic lattice. Because a lot of energy is needed to overcome the
strong forces in the lattice, ionic compounds have high melting points; sodium chloride melts at
801 °C. Ionic compounds conduct electricity when molten or dissolved in water, because the ions
are then free to move, but they do not conduct when solid.

## Covalent bonding

Covalent bonding happens between non-metal atoms. Instead of transferring electrons, the atoms
share pairs of electrons, and each shared pair forms one covalent bond. In a water molecule
(H₂O), the oxygen atom shares one pair of electrons with each of the two hydrogen atoms. In a
methane molecule (CH₄), a carbon atom forms four single covalent bonds with four hydrogen atoms.
An oxygen molecule (O₂) contains a double bond, in which two pairs of electrons are shared.

Simple molecular substances such as water, methane and carbon dioxide have low melting and
boiling points, because only weak forces act between the separate molecules, even though the
covalent bonds inside each molecule are strong. They do not conduct electricity because their
molecules have no overall charge. Diamond is a different kind of covalent substance: every
carbon atom is bonded to four others in a giant covalent structure, which makes diamond
extremely hard and gives it a very high melting point.

## Key points

- Protons (+1) and neutrons (0) are found in the nucleus; electrons (−1) occupy shells around
  it.
- Atomic number = number of protons; mass number = number of protons + number of neutrons.
- Elements in the same group have the same number of outer electrons.
- Ionic bonds form when electrons are transferred from a metal to a non-metal.
- Covalent bonds form when non-metal atoms share pairs of electrons.
"""
)


_WAVES_TEXT = _unwrap(
    """\
# Waves and Sound

## What is a wave?

A wave is a disturbance that transfers energy from one place to another without transferring
matter. When a stone drops into a pond, ripples spread outwards across the surface, but the
water itself only moves up and down; a floating leaf bobs in place instead of travelling with
the ripples. Waves that travel through a substance, such as water waves and sound, are called
mechanical waves, and the substance they travel through is called the medium.

## Transverse and longitudinal waves

Waves are classified by comparing the direction in which the particles of the medium vibrate
with the direction in which the wave travels.

In a transverse wave, the vibrations are at right angles (perpendicular) to the direction of
energy transfer. Ripples on water, waves on a shaken rope and all electromagnetic waves,
including light and radio waves, are transverse. The high points of a transverse wave are called
crests and the low points are called troughs.

In a longitudinal wave, the vibrations are parallel to the direction of energy transfer. Sound
is a longitudinal wave. As a longitudinal wave passes, the particles of the medium are pushed
closer together in regions called compressions and spread further apart in regions called
rarefactions. A slinky spring pushed back and forth along its length shows a longitudinal wave
clearly.

## Describing a wave

Several quantities are used to describe a wave:

- The amplitude is the maximum displacement of a point on the wave from its rest position. For a
  water wave, it is the height of a crest above the undisturbed water level. A wave with a
  larger amplitude carries more energy.
- The wavelength is the distance from one point on a wave to the same point on the next wave,
  for example from one crest to the next crest. It is given the symbol λ (the Greek letter
  lambda) and is measured in metres.
- The frequency is the number of waves passing a point each second. It is measured in hertz
  (Hz), where 1 Hz means one wave per second.
- The period is the time taken for one complete wave to pass a point, measured in seconds. The
  period equals 1 divided by the frequency, so a wave with a frequency of 50 Hz has a period of
  0.02 s.

## The wave equation

The speed of a wave, its frequency and its wavelength are linked by the wave equation v = f × λ,
where v is the wave speed in metres per second, f is the frequency in hertz and λ is the
wavelength in metres. For example, a water wave with a frequency of 2 Hz and a wavelength of 3 m
travels at 2 × 3 = 6 m/s. If the speed of a wave stays the same, increasing its frequency makes
its wavelength shorter.

## Sound waves

Sound is produced by vibrating objects. A guitar string, the cone of a loudspeaker and the vocal
cords in your throat all vibrate and push on the air next to them, creating a series of
compressions and rarefactions that travel outwards as a longitudinal wave.

Sound needs a medium to travel through. It cannot travel through a vacuum, because there are no
particles to pass on the vibrations. The bell-jar experiment shows this: as air is pumped out of
a jar containing a ringing electric bell, the sound grows fainter even though the bell can still
be seen vibrating. For the same reason, astronauts on a spacewalk talk to each other by radio.

The speed of sound depends on the medium. In air at about 20 °C, sound travels at approximately
343 m/s. It travels faster in liquids, at about 1500 m/s in water, and faster still in solids,
at about 5000 m/s in steel, because the particles are closer together and pass on the vibrations
more quickly. Light travels almost a million times faster than sound in air, which is why you
see a flash of lightning before you hear the thunder. Counting the seconds between the flash and
the thunder and multiplying by 343 gives the distance to the storm in metres.

## Pitch, loudness and hearing

The pitch of a sound depends on its frequency: a high-frequency sound has a high pitch, and a
low-frequency sound has a low pitch. The loudness of a sound depends on its amplitude, so a
larger amplitude gives a louder sound. Sound levels are commonly measured in decibels (dB), and
long exposure to sounds above about 85 dB can damage hearing.

Healthy young people can hear frequencies from about 20 Hz to 20 000 Hz (20 kHz), and the upper
limit falls with age. Sound with a frequency above 20 000 Hz is called ultrasound. Ultrasound is
used to scan unborn babies and to detect flaws inside metal parts, and bats use it to find their
way in the dark by echolocation.

## Echoes

An echo is a sound that has reflected off a hard surface such as a cliff or a wall. Echoes can
be used to measure distances. If a student claps and hears the echo from a wall 0.5 s later, the
sound has travelled to the wall and back in that time, covering about 343 × 0.5 ≈ 172 m, so the
wall is about 86 m away. Ships use the same idea in sonar to measure the depth of the sea.

## Key points

- Waves transfer energy, not matter.
- Transverse waves vibrate perpendicular to the direction of travel; longitudinal waves vibrate
  parallel to it.
- Frequency is measured in hertz (Hz) and wavelength in metres (m).
- Wave equation: v = f × λ.
- The speed of sound in air is about 343 m/s, and sound cannot travel through a vacuum.
"""
)


DEMO_MATERIALS: tuple[DemoMaterial, ...] = (
    DemoMaterial(
        id="3c9e7a1d-52b4-4f08-9d6e-0a1b2c3d4e51",
        title="Forces and Newton's Laws of Motion",
        source_type="markdown",
        text=_NEWTON_TEXT,
    ),
    DemoMaterial(
        id="8f2d4b6a-1e3c-4a57-b9d0-6c7e8f9a0b12",
        title="Energy, Work and Power",
        source_type="markdown",
        text=_ENERGY_TEXT,
    ),
    DemoMaterial(
        id="b5a61c3e-7d29-4e8f-a0b1-2c3d4e5f6a73",
        title="Atoms, the Periodic Table and Chemical Bonding",
        source_type="markdown",
        text=_ATOMS_TEXT,
    ),
    DemoMaterial(
        id="e1f7d93b-4c6a-4b20-8e5f-9a0b1c2d3e84",
        title="Waves and Sound",
        source_type="markdown",
        text=_WAVES_TEXT,
    ),
)
