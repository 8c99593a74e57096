import pytest

from clipcite.errors import Overloaded
from engine.admission import AdmissionGate


def test_gate_refuses_past_the_bound_and_recovers():
    gate = AdmissionGate(2, retry_after=3)
    with gate.admit(), gate.admit():
        with pytest.raises(Overloaded) as err:
            with gate.admit():
                pass
        assert err.value.retry_after == 3 and err.value.status_code == 503
    assert gate.in_flight == 0
    with gate.admit():
        assert gate.in_flight == 1
