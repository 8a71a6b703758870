"""The 2400's remote trigger model, source list and data store (2400 manual, section 11
"Triggering", Figure 11-3 "Remote trigger model"; section 10 "Sweep operation"; section 9 "Data
store").

:INIT takes the instrument out of idle. The arm layer waits for its event (IMMediate, TLINk on
:ARM:ILINe, BUS = *TRG, TIMer), outputs its TENTer trigger, then the trigger layer makes
:TRIGger:COUNt passes, each:

1. source event detector (waits for a Trigger Link pulse on :TRIG:ILINe if the trigger source is
   TLINk and SOURce is among the :TRIGger:INPut events), :TRIGger:DELay;
2. SOURce action: the next :SOURce:LIST value in LIST mode, else the programmed level; output
   trigger if SOURce is among the :TRIGger:OUTPut events;
3. DELay detector, DELay action (the source delay, manual or auto); output trigger on DELay;
4. SENSe detector, measure action (integration); the reading goes to the data store if fed;
   output trigger on SENSe;

The trigger latency runs from each event that releases an action: once per pass with IMMediate
sources (:data:`~.keithley_timing.TRIGGER_LATENCY_S`), after each satisfied detector with TLINk
(:data:`~.keithley_timing.TRIGGER_LINK_LATENCY_S`); each source action adds the source
configuration time, each measure action its conversions and firmware overhead (Appendix A). After :ARM:COUNt passes of the arm layer (TEXit trigger after each) the instrument is idle
again. Output triggers pulse :TRIG:OLINe (:ARM:OLINe for the arm layer) on the lab's trigger cable
(:meth:`VirtualLab.pulse_trigger_line`), at that instant of the lab clock.

With IMMediate sources the whole model runs inside :INIT. With TLINk it runs until it waits at
an event detector and :INIT returns; every later pulse on the input line (heard through
:meth:`VirtualLab.connect_trigger_input`) lets it run on to the next wait. A pulse on the input
line that arrives while the model is busy with an action is pending until the model reaches that
detector (:TRIGger:CLEar clears it); in idle a pulse is not seen. With :TRIGger:DIRection SOURce
the trigger layer's detector is bypassed on the first pass. Listeners of this instrument's output
triggers work alongside it, not before it (:mod:`.trigger_link`).

After the last point of a source list, the source goes back to the programmed (bias) level
(:SOURce:CURRent:LEVel): 2400 manual, section 10, "the output will go from the bias level to the
start source level", Figures 10-1/10-2, the level sits at the bias before and after the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..scpi import ScpiError
from .keithley_status import Reading, format_reading
from .keithley_timing import (BUFFER_STORE_S, SOURCE_CONFIGURATION_S, TRIGGER_LATENCY_S, TRIGGER_LINK_LATENCY_S,
                              transfer_time_s)
from .keithley_trigger_commands import TriggerCommands2400
from .trigger_link import TriggerLinkTimeline

DATA_STALE = ScpiError(-230, "Data corrupt or stale")
CONFLICT = ScpiError(-221, "Settings conflict")


@dataclass
class TriggerSettings:
    """The trigger model's settings at *RST (2400 manual, section 11 "Bench defaults" and the
    :ARM/:TRIGger tables of section 18)."""

    arm_count: int = 1
    arm_source: str = "IMM"
    arm_timer_s: float = 0.1
    arm_input_line: int = 1
    arm_output_line: int = 2
    arm_outputs: set = field(default_factory=set)  # TENT, TEX
    trigger_count: int = 1
    trigger_source: str = "IMM"
    trigger_delay_s: float = 0.0
    trigger_input_line: int = 1
    trigger_output_line: int = 2
    trigger_inputs: set = field(default_factory=lambda: {"SOUR"})  # "Source Trigger In Event = On"
    trigger_outputs: set = field(default_factory=set)  # SOUR, DEL, SENS
    buffer_points: int = 100
    feed: str = "SENS"
    feed_control: str = "NEV"


class TriggerModel2400(TriggerCommands2400, TriggerLinkTimeline):
    """Mixin of :class:`.keithley.Keithley2400Emulator`: trigger model, source list, data store."""

    def _init_trigger_model(self) -> None:
        self.trigger = TriggerSettings()
        self.source_mode = {"CURR": "FIX", "VOLT": "FIX"}
        self.source_list = {"CURR": [], "VOLT": []}
        self.buffer: list[Reading] = []
        self.last_readings: list[Reading] = []
        self._run = None  # the running model (a generator), None when idle
        self._waiting_for: tuple[str, int] | None = None  # ("TLIN", line) or ("BUS", 0)
        self._busy = False
        self._bias: tuple[float, float] | None = None
        self.status_enable = {"SRE": 0, "MEAS": 0}
        self._init_timeline()

    # ------------------------------------------------------------------ running
    def initiate(self) -> None:
        """:INIT: leave idle and run the model until it waits for a trigger or is done."""
        if self._run is not None:
            raise ScpiError(-213, "Init ignored")  # already out of idle (2400 manual, Appendix B)
        self.check_output_for_reading()
        self.last_readings = []
        self.joined()  # :INIT comes over the bus, now
        self._run = self._model()
        self._resume()

    def abort(self) -> None:
        """:ABORt: back to idle at once; a source list's level goes back to the bias."""
        if self._run is not None:
            self._run.close()
        self._finish()

    def _resume(self) -> None:
        self._busy, self._waiting_for = True, None
        try:
            self._waiting_for = next(self._run)
        except StopIteration:
            self._finish()
        except ScpiError as exc:  # e.g. +803 mid-run: this instrument's error, never its caller's
            self.push_error(exc.code, exc.message)
            self._finish()
        finally:
            self._busy = False

    def _finish(self) -> None:
        self._run, self._waiting_for = None, None
        if self._bias is not None:  # the list is done: the programmed level is sourced again
            stepped = (self.level_a, self.level_v) != self._bias
            self.level_a, self.level_v = self._bias
            self._bias = None
            self._push()
            if stepped:
                self.source_changed()
        self.joined()
        self.clear_pending()  # idle: nothing waits at a detector

    def on_trigger_line(self, line: int) -> None:
        """A pulse on the lab's trigger cable: it releases the detector waiting for that line."""
        if self._run is None:
            return  # idle: the model is not running, the pulse is not seen
        if self._busy:
            if int(line) in (self.trigger.trigger_input_line, self.trigger.arm_input_line):
                self.latch(line)  # pending until the model reaches the detector
            return
        if self._waiting_for != ("TLIN", int(line)):
            return  # waiting for another line: this pulse is not seen
        self.joined()
        self._resume()

    def bus_trigger(self, argument, query):
        """*TRG: releases an arm layer waiting for a BUS event."""
        if not self._busy and self._run is not None and self._waiting_for == ("BUS", 0):
            self._resume()

    def _output_trigger(self, line: int) -> None:
        self.pulse_out(line)

    def _detector(self, line: int):
        """An event detector waiting for ``line``: passes at once on a pending pulse."""
        if not self.take_pending(line):
            yield ("TLIN", line)

    def _model(self):
        t = self.trigger
        listed = self.source_mode[self.function] == "LIST"
        values = self.source_list[self.function]
        if listed:
            if not values:
                return
            self._bias = (self.level_a, self.level_v)
        point, armed_s = 0, self.clock.now_s()
        bypass = str(self.settings.get("triggerDIR", "ACC")).upper().startswith("SOUR")
        for arm_pass in range(t.arm_count):
            if t.arm_source == "TLIN":
                yield from self._detector(t.arm_input_line)
            elif t.arm_source == "TIM":  # the first pass at once, then one per timer interval
                if arm_pass:
                    self.clock.sleep(armed_s + t.arm_timer_s - self.clock.now_s())
                armed_s = self.clock.now_s()
            elif t.arm_source != "IMM":  # BUS waits for *TRG; MANual and the SOT lines never come here
                yield (t.arm_source, 0)
            if "TENT" in t.arm_outputs:
                self._output_trigger(t.arm_output_line)
            for _ in range(t.trigger_count):
                tlin = t.trigger_source == "TLIN"
                waits = t.trigger_inputs if tlin else set()
                if bypass:  # :TRIG:DIR SOUR: the first pass goes through its detector unstopped
                    waits, bypass = set(), False
                if "SOUR" in waits:
                    yield from self._detector(t.trigger_input_line)
                if "SOUR" in waits:  # the latency runs from the event that starts the action
                    self.sleep_own(TRIGGER_LINK_LATENCY_S)
                elif not waits:
                    self.sleep_own(TRIGGER_LATENCY_S)
                self.sleep_own(t.trigger_delay_s)
                self.sleep_own(SOURCE_CONFIGURATION_S)
                if listed:  # source action: the next list value (the list repeats if the counts exceed it)
                    self._source_list_value(values[point % len(values)])
                if "SOUR" in t.trigger_outputs:
                    self._output_trigger(t.trigger_output_line)
                if "DEL" in waits:
                    yield from self._detector(t.trigger_input_line)
                    self.sleep_own(TRIGGER_LINK_LATENCY_S)
                self.sleep_own(self.source_delay())
                if "DEL" in t.trigger_outputs:
                    self._output_trigger(t.trigger_output_line)
                if "SENS" in waits:
                    yield from self._detector(t.trigger_input_line)
                    self.sleep_own(TRIGGER_LINK_LATENCY_S)
                reading = self.reading_now()
                self.last_readings.append(reading)
                self._store(reading)
                if "SENS" in t.trigger_outputs:
                    self._output_trigger(t.trigger_output_line)
                point += 1
            if "TEX" in t.arm_outputs:
                self._output_trigger(t.arm_output_line)

    def _source_list_value(self, value: float) -> None:
        """Source one list value without changing the programmed (bias) level."""
        kind = self.function
        rounded = self.quantise_level(kind, value)
        before = (self.level_a, self.level_v)
        if kind == "CURR":
            self.level_a = rounded
        else:
            self.level_v = rounded
        if (self.level_a, self.level_v) != before:
            self._push()
            self.source_changed()

    def _store(self, reading: Reading) -> None:
        t = self.trigger
        if t.feed_control != "NEXT" or t.feed != "SENS":
            return
        self.sleep_own(BUFFER_STORE_S)
        self.buffer.append(reading)
        if len(self.buffer) >= t.buffer_points:
            t.feed_control = "NEV"  # a full store stops storing (2400 manual, :TRACe:FEED:CONTrol)

    # ---------------------------------------------------------------- queries
    def _format(self, readings: list[Reading]) -> str:
        reply = ",".join(format_reading(r, self.elements) for r in readings)
        self.clock.sleep(transfer_time_s(reply))
        return reply

    def fetch(self, argument, query):
        if not self.last_readings or self._run is not None:
            raise DATA_STALE
        return self._format(self.last_readings)

    def read_query(self, argument, query):
        """:READ? = :INIT then :FETCh? (no reply while the model waits for triggers)."""
        self.initiate()
        if self._run is not None:
            return None  # still armed: the real instrument holds the bus until done
        return self._format(self.last_readings)

    def trace_data(self, argument, query):
        if not self.buffer:
            raise DATA_STALE
        return self._format(self.buffer)
