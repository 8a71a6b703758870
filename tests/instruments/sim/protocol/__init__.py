"""Protocol facts about the instruments: the (command, reply) pairs of pymeasure's own tests,
transcribed as data, one module per instrument, run against the emulators by the tests beside this
package."""
