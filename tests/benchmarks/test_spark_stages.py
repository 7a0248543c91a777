"""``benchmarks.spark_stages``' reading of the Spark UI's REST API: job and stage times from their timestamps,
stages that wrote a shuffle counted as the scan, skipped stages (their shuffle output reused) not counted."""

from __future__ import annotations

from benchmarks.spark_stages import _seconds, job_summary


class FakeRest:
    def __init__(self, stages):
        self.stages = stages

    def get(self, path):
        assert path == "stages"
        return self.stages


def _stage(sid, start, end, shuffle_write, status="COMPLETE", tasks=1):
    return {"stageId": sid, "status": status, "submissionTime": start, "completionTime": end, "numTasks": tasks,
            "shuffleWriteBytes": shuffle_write, "inputBytes": 2**20, "executorRunTime": 1500}


def test_timestamps_are_read_to_the_millisecond_across_a_minute():
    assert abs(_seconds("2026-12-03T12:16:59.900GMT", "2026-12-03T12:17:01.150GMT") - 1.25) < 1e-9


def test_jobs_are_split_into_scan_and_after_shuffle_and_skipped_stages_cost_nothing():
    stages = [_stage(1, "2026-12-03T12:00:00.000GMT", "2026-12-03T12:00:01.500GMT", 2**20, tasks=2),
              _stage(2, "2026-12-03T12:00:01.600GMT", "2026-12-03T12:00:01.850GMT", 0),
              _stage(3, "2026-12-03T12:00:00.000GMT", "2026-12-03T12:00:09.000GMT", 2**20, status="SKIPPED")]
    jobs = [{"submissionTime": "2026-12-03T12:00:00.000GMT", "completionTime": "2026-12-03T12:00:01.550GMT",
             "stageIds": [1, 3]},
            {"submissionTime": "2026-12-03T12:00:01.580GMT", "completionTime": "2026-12-03T12:00:01.900GMT",
             "stageIds": [2]}]
    got = job_summary(FakeRest(stages), jobs)
    assert got == {"jobs": 2, "jobs_s": 1.87, "scan_s": 1.5, "after_shuffle_s": 0.25, "stages": 2, "tasks": 3,
                   "shuffle_write_mb": 1.0, "input_mb": 2.0, "executor_run_s": 3.0}
