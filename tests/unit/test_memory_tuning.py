"""deployment.memory: the process settings every entry point applies before large array work."""

import ctypes
import platform

import numpy as np
import pytest

from deployment.memory import tune_memory


def test_numpy_no_longer_advises_hugepages_after_tuning():
    applied = tune_memory()
    assert applied["numpy_hugepage_off"]
    assert np._core.multiarray._get_madvise_hugepage() is False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's; other C libraries are left as they are")
def test_glibc_keeps_large_freed_blocks_for_reuse():
    assert tune_memory()["glibc_heap_reuse"]
    assert ctypes.CDLL(None).mallopt(-3, 1 << 30) == 1  # the setting is one glibc accepts
