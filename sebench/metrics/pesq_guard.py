"""Keeping the ITU-T P.862 C code (the ``pesq`` package) inside its limits.

The C code holds at most 50 utterances (``MAXNUTTERANCES`` in pesq.h): the speech runs its
VAD finds in the reference, each at least 200 ms long, separated by more than 200 ms of
pause. It never checks the bound: a reference with a few more silently overwrites its own
alignment tables (NOIZEUS sentences strung together score 2.85 at 97 s and 3.30 at 100 s),
and with more it overwrites the stack and the process dies (SIGSEGV or "stack smashing"),
losing every score of the batch. Real read speech reaches the bound after ~100-170 s, a
dense synthetic signal after ~25 s; no signal can reach it in under ~19 s (51 runs of
>= 50 VAD frames of 4 ms, with gaps of >= 51 frames less the VAD's 2-frame edge ramps).

So a reference longer than ``SAFE_SECONDS`` is scored in a forked child process, which
first counts the runs with the package's own routines (its level alignment, input filters,
VAD and crude delay, called through ctypes on the same compiled library) and refuses with
"too long for PESQ" when the tables would overflow; if the C code crashes anyway, only that
utterance is lost (NaN with the reason), never the run.
"""
import ctypes
import faulthandler
import os
import pickle
import signal

import numpy as np

MAX_UTTERANCES = 50         # pesq.h MAXNUTTERANCES
SAFE_SECONDS = 15.0         # below ~19 s no reference can overflow; margin for safety
_SEARCHBUFFER = 75          # pesq.h, in VAD frames
_MIN_UTT_LENGTH = 50        # pesq.h MINUTTLENGTH, in VAD frames


class PesqLimitError(Exception):
    """The reference holds more speech runs than the C code's tables."""


class _SignalInfo(ctypes.Structure):     # pesq.h SIGNAL_INFO
    _fields_ = [("path_name", ctypes.c_char * 512), ("file_name", ctypes.c_char * 128),
                ("Nsamples", ctypes.c_long), ("apply_swap", ctypes.c_long),
                ("input_filter", ctypes.c_long), ("data", ctypes.POINTER(ctypes.c_float)),
                ("VAD", ctypes.POINTER(ctypes.c_float)),
                ("logVAD", ctypes.POINTER(ctypes.c_float))]


_LONGS = ctypes.c_long * MAX_UTTERANCES
_FLOATS = ctypes.c_float * MAX_UTTERANCES


class _ErrorInfo(ctypes.Structure):      # pesq.h ERROR_INFO
    _fields_ = [("Nutterances", ctypes.c_long), ("Largest_uttsize", ctypes.c_long),
                ("Nsurf_samples", ctypes.c_long), ("Crude_DelayEst", ctypes.c_long),
                ("Crude_DelayConf", ctypes.c_float), ("UttSearch_Start", _LONGS),
                ("UttSearch_End", _LONGS), ("Utt_DelayEst", _LONGS), ("Utt_Delay", _LONGS),
                ("Utt_DelayConf", _FLOATS), ("Utt_Start", _LONGS), ("Utt_End", _LONGS),
                ("pesq_mos", ctypes.c_float), ("mapped_mos", ctypes.c_float),
                ("mode", ctypes.c_short)]


def _c_div(a, b):
    """C's integer division (truncates toward zero)."""
    return int(a / b)


def reference_vad(ref, deg, fs, mode):
    """PESQ's VAD of the reference, the VAD frame count, the crude delay (samples) and the
    degraded length, from the package's own routines, as pesq_measure() computes them
    before it identifies utterances. Leaks the C buffers: call it in a throwaway process."""
    from pesq import cypesq

    lib = ctypes.CDLL(cypesq.__file__)
    scale = max(np.max(np.abs(ref)), np.max(np.abs(deg)))    # as pesq.pesq() scales
    ref32 = np.ascontiguousarray(ref / scale, dtype=np.float32)
    deg32 = np.ascontiguousarray(deg / scale, dtype=np.float32)
    flag, kind = ctypes.c_long(0), ctypes.c_char_p()
    lib.select_rate(ctypes.c_long(fs), ctypes.byref(flag), ctypes.byref(kind))
    infos = []
    for data in (ref32, deg32):
        info = _SignalInfo()
        info.Nsamples = data.size
        info.input_filter = 2 if mode == "wb" else 1
        info.data = data.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        lib.load_src(ctypes.byref(flag), ctypes.byref(kind), ctypes.byref(info))  # pads, copies
        infos.append(info)
    ref_info, deg_info = infos
    ftmp = ctypes.POINTER(ctypes.c_float)()
    lib.alloc_other(ctypes.byref(ref_info), ctypes.byref(deg_info), ctypes.byref(flag),
                    ctypes.byref(kind), ctypes.byref(ftmp))
    if flag.value:
        raise MemoryError("PESQ could not allocate its buffers")
    downsample = ctypes.c_long.in_dll(lib, "Downsample").value
    padding = 320 * (fs // 1000)                  # DATAPADDING_MSECS
    edge = _SEARCHBUFFER * downsample
    # pesq_measure() first scales each signal to a fixed level (fix_power_level); the VAD's
    # thresholds are relative and the filters linear, so that step is skipped (two FFTs
    # of the whole signal, half of this function's time)
    irs = (ctypes.c_double * 52).in_dll(lib, "standard_IRS_filter_dB")
    suffix = "16k" if fs == 16000 else "8k"
    wb_sos = (ctypes.c_float * 5).in_dll(lib, f"WB_InIIR_Hsos_{suffix}")
    wb_nsos = ctypes.c_long.in_dll(lib, f"WB_InIIR_Nsos_{suffix}").value
    lib.apply_filter.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_int, ctypes.c_void_p]
    lib.IIRFilt.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_void_p,
                            ctypes.c_ulong, ctypes.c_void_p]
    for info in infos:
        if mode != "wb":        # P.862: the IRS receive filter
            lib.apply_filter(info.data, info.Nsamples, 26, ctypes.addressof(irs))
            continue
        data = np.ctypeslib.as_array(info.data, shape=(info.Nsamples + padding,))
        for i in range(16):     # P.862.2: 16-sample fades, then its input high-pass
            data[edge + i - 1] *= np.float32(i / 16.0)
            data[info.Nsamples - edge - i] *= np.float32(i / 16.0)
        lib.IIRFilt(ctypes.addressof(wb_sos), wb_nsos, None, ctypes.addressof(info.data.contents) + 4 * edge,
                    info.Nsamples - 2 * edge, None)
    lib.input_filter(ctypes.byref(ref_info), ctypes.byref(deg_info), ftmp)
    lib.calc_VAD(ctypes.byref(ref_info))
    lib.calc_VAD(ctypes.byref(deg_info))
    err = _ErrorInfo()
    err.mode = 1 if mode == "wb" else 0
    lib.crude_align(ctypes.byref(ref_info), ctypes.byref(deg_info), ctypes.byref(err),
                    ctypes.c_long(-1), ftmp)
    frames = ref_info.Nsamples // downsample
    vad = np.ctypeslib.as_array(ref_info.VAD, shape=(frames,)).copy()
    return vad, downsample, int(err.Crude_DelayEst), int(deg_info.Nsamples)


def utterance_slots(vad, downsample, crude_delay, deg_samples):
    """(utterances counted, highest table index written) by pesq's id_searchwindows():
    it writes slot ``n`` at every speech onset and counts runs of >= 50 frames inside the
    degraded signal's span, without checking n < 50."""
    start_limit = _MIN_UTT_LENGTH - _c_div(crude_delay, downsample)
    end_limit = _c_div(deg_samples - crude_delay, downsample) - _MIN_UTT_LENGTH
    count, highest, in_speech, start = 0, -1, False, 0
    last = len(vad) - 1
    for i, value in enumerate(vad):
        if value > 0 and not in_speech:
            in_speech, start = True, i
            highest = max(highest, count)
        if (value == 0 or i == last) and in_speech:
            in_speech = False
            if i - start >= _MIN_UTT_LENGTH and start < end_limit and i > start_limit:
                count += 1
    return count, highest


def check_utterances(ref, deg, fs, mode):
    """Raise PesqLimitError when PESQ's utterance tables would overflow on this pair."""
    count, highest = utterance_slots(*reference_vad(ref, deg, fs, mode))
    if highest >= MAX_UTTERANCES:
        needed = max(count, highest + 1)
        raise PesqLimitError(f"too long for PESQ ({len(ref) / fs:.1f} s: {needed} speech "
                             f"segments > the {MAX_UTTERANCES} its ITU code holds)")


def run_isolated(function, *args):
    """``function(*args)`` in a forked child, so a crash in C code costs this call only.
    Returns its value or re-raises its exception; a crash raises RuntimeError naming the
    signal. Without fork (Windows) it runs in this process."""
    if not hasattr(os, "fork"):
        return function(*args)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child: never returns
        code = 0
        try:
            faulthandler.disable()                 # a crash is reported by the parent
            os.close(read_end)
            try:
                outcome = ("value", function(*args))
            except Exception as e:                 # noqa: BLE001 - handed to the parent
                outcome = ("error", e)
            try:
                payload = pickle.dumps(outcome)
            except Exception as e:                 # noqa: BLE001 - an unpicklable exception
                payload = pickle.dumps(("error", RuntimeError(f"{type(e).__name__}: {e}")))
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
        except BaseException:                      # noqa: BLE001 - nothing may escape a child
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise RuntimeError(f"crashed ({name}) in its C code")
    if not payload:
        raise RuntimeError(f"worker exited with status {os.WEXITSTATUS(status)} and no result")
    kind, value = pickle.loads(payload)
    if kind == "error":
        raise value
    return value
