"""Keeps the started components alive: a component that dies is restarted with backoff, and a component
that keeps dying stops the whole stack with its log tail (exit 1) so an outer process manager notices.

Restarting matters because the gateway only queues a citizen's messages while the engine is away; a dead
engine that nobody restarts would leave every conversation waiting. The first start is not retried: a
component that never became ready has a problem a restart does not fix (configuration, a missing model).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from stack.components import Component, StartError


@dataclass(frozen=True)
class RestartPolicy:
    """Backoff doubling from `first_delay` to `max_delay`; give up at `max_failures` within `window` s."""

    first_delay: float = 1.0
    max_delay: float = 30.0
    max_failures: int = 8
    window: float = 600.0
    ready_timeout: float = 180.0  # a restarted component not ready by then counts as failed again

    def delay(self, failures: int) -> float:
        """Seconds to wait before restarting after the `failures`-th failure within the window."""
        return float(min(self.first_delay * 2 ** max(failures - 1, 0), self.max_delay))


@dataclass
class _State:
    failures: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    started_at: float = 0.0
    awaiting_ready: bool = False
    restarts: int = 0


class Supervisor:
    """Starts components with a progress display, then watches them (`run`) until one ends the stack."""

    def __init__(
        self,
        policy: RestartPolicy,
        *,
        say: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        tail_lines: int = 30,
    ) -> None:
        self.policy = policy
        self.say = say
        self.clock = clock
        self.tail_lines = tail_lines
        self.components: list[Component] = []
        self._state: dict[str, _State] = {}

    def start(self, components: list[Component], timeout: float) -> None:
        """Start all of `components` at once, then wait for each to be ready; StartError otherwise."""
        for component in components:
            where = f" (log: {component.log_path})" if component.log_path else ""
            self.say(f"· 启动{component.label}…{where}")
            component.start()
            self.components.append(component)
            self._state[component.name] = _State(started_at=self.clock())
        for component in components:
            seconds = component.wait_ready(timeout)
            if component.ready_url is not None:
                self.say(f"  ✓ {component.label} 就绪 ({seconds:.1f} s)")

    def restarts(self, name: str) -> int:
        return self._state[name].restarts

    def show_tail(self, component: Component) -> None:
        tail = component.log_tail(self.tail_lines)
        self.say(f"--- {component.label} 日志末尾 ({component.log_path}) ---\n{tail}")

    def step(self) -> int | None:
        """One look at every component: restart what died when its backoff is over, report what became
        ready again. Returns the stack's exit code when it must end, None to keep going."""
        now = self.clock()
        for component in self.components:
            state = self._state[component.name]
            if state.restart_at is not None:
                if now >= state.restart_at:
                    state.restart_at = None
                    state.restarts += 1
                    self.say(f"· 重启{component.label}（第 {state.restarts} 次）…")
                    component.start()
                    state.started_at, state.awaiting_ready = now, True
                continue
            code = component.exit_code()
            if code is None:
                if state.awaiting_ready:
                    self._check_ready_again(component, state, now)
                continue
            if component.exit_ends_stack and code == 0:
                return 0
            outcome = self._failed(component, state, now, f"意外退出 (exit {code})")
            if outcome is not None:
                return outcome
        return None

    def _check_ready_again(self, component: Component, state: _State, now: float) -> None:
        if component.probe():
            state.awaiting_ready = False
            self.say(f"  ✓ {component.label} 重新就绪 ({now - state.started_at:.1f} s)")
        elif now - state.started_at > self.policy.ready_timeout:
            self.say(f"⚠ {component.label} 重启后 {self.policy.ready_timeout:.0f} 秒内没有就绪")
            component.kill()  # the next step sees it exited and counts the failure

    def _failed(self, component: Component, state: _State, now: float, why: str) -> int | None:
        component.kill()  # whatever it left behind in its session goes with it
        state.awaiting_ready = False
        state.failures.append(now)
        while state.failures and now - state.failures[0] > self.policy.window:
            state.failures.popleft()
        count = len(state.failures)
        if count >= self.policy.max_failures:
            self.say(
                f"✗ {component.label} {why}：{self.policy.window:.0f} 秒内第 {count} 次失败，"
                "放弃并停止全部组件"
            )
            self.show_tail(component)
            return 1
        delay = self.policy.delay(count)
        self.say(f"⚠ {component.label} {why}，{delay:.0f} 秒后重启")
        state.restart_at = now + delay
        return None

    def run(self, stop: threading.Event | None = None, interval: float = 0.5) -> int:
        """Watch until a component ends the stack (its exit code) or `stop` is set (0)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            outcome = self.step()
            if outcome is not None:
                return outcome
            stop.wait(interval)
        return 0

    def stop_all(self, grace: float = 10.0) -> None:
        """SIGTERM everything at once, then wait; SIGKILL what is still alive after `grace` seconds."""
        for component in self.components:
            component.terminate()
        deadline = time.monotonic() + grace
        for component in self.components:
            component.wait_or_kill(deadline)


def report_start_failure(supervisor: Supervisor, error: StartError) -> None:
    """Say why the start failed, with the failing component's log tail."""
    supervisor.say(f"✗ {error}")
    if error.component is not None:
        supervisor.show_tail(error.component)
