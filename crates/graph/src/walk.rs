//! The parallel walker: runs an action on every node once its dependencies are done.
//!
//! Plan, apply, destroy and refresh are all this walk with different actions. It is written so
//! that it never serialises: a completion touches only the finished node's dependents (O(degree)),
//! there is no scan of the whole graph per step, and up to the limiter's bound of visits run
//! concurrently. With N independent nodes taking L each at a bound of P, a walk takes about
//! ⌈N/P⌉·L.
//!
//! Visits run as futures polled by the calling task (a `FuturesUnordered`), not as spawned
//! tasks, so they may borrow from the graph and need not be `Send` or `'static`.

use crate::dag::{Dag, NodeId};
use crate::limiter::{Limiter, Permit};
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use tokio_util::sync::CancellationToken;

/// What happened to one node during a walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<E> {
    /// The visit ran and succeeded.
    Done,
    /// The visit ran and returned this error.
    Failed(E),
    /// Never visited because a dependency (transitively) failed; `because` is the failed node,
    /// so a report can say "skipped: base/vpc.main failed" rather than naming a chain of skips.
    Skipped { because: NodeId },
    /// Never visited because the walk was cancelled first (or because the node is on a
    /// dependency cycle and so never became ready).
    NotStarted,
}

impl<E> Outcome<E> {
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done)
    }
}

/// The outcome of every node of the walked graph.
#[derive(Debug)]
pub struct WalkReport<E> {
    pub outcomes: HashMap<NodeId, Outcome<E>>,
}

impl<E> WalkReport<E> {
    pub fn outcome(&self, id: NodeId) -> Option<&Outcome<E>> {
        self.outcomes.get(&id)
    }

    /// True if every node was visited successfully.
    pub fn all_done(&self) -> bool {
        self.outcomes.values().all(Outcome::is_done)
    }

    /// Nodes whose visit succeeded, by id.
    pub fn done(&self) -> Vec<NodeId> {
        self.select(|o| o.is_done().then_some(()))
            .into_iter()
            .map(|(id, ())| id)
            .collect()
    }

    /// Failed nodes and their errors, by id.
    pub fn failed(&self) -> Vec<(NodeId, &E)> {
        self.select(|o| match o {
            Outcome::Failed(e) => Some(e),
            _ => None,
        })
    }

    /// Skipped nodes and the failed node that caused each skip, by id.
    pub fn skipped(&self) -> Vec<(NodeId, NodeId)> {
        self.select(|o| match o {
            Outcome::Skipped { because } => Some(*because),
            _ => None,
        })
    }

    /// Nodes never started because of cancellation, by id.
    pub fn not_started(&self) -> Vec<NodeId> {
        self.select(|o| matches!(o, Outcome::NotStarted).then_some(()))
            .into_iter()
            .map(|(id, ())| id)
            .collect()
    }

    fn select<'a, T>(&'a self, f: impl Fn(&'a Outcome<E>) -> Option<T>) -> Vec<(NodeId, T)> {
        let mut out: Vec<(NodeId, T)> = self
            .outcomes
            .iter()
            .filter_map(|(&id, o)| f(o).map(|t| (id, t)))
            .collect();
        out.sort_unstable_by_key(|(id, _)| *id);
        out
    }
}

/// Runs `visit` for every node once all its dependencies are [`Outcome::Done`], with at most
/// `limiter.current()` visits in flight (the limiter may be shared with other walks).
///
/// A node whose dependency failed or was skipped is skipped, never visited, with `because`
/// naming the failed node; branches that do not depend on a failure carry on. When `cancel`
/// fires no new visit starts, visits in flight run to completion, and the nodes never started
/// are reported [`Outcome::NotStarted`]. Nodes on a dependency cycle never become ready and are
/// reported `NotStarted` too: check [`Dag::topological_order`] before walking.
///
/// The walker does not adjust the limiter: a visit that learns the cloud is throttling calls
/// [`Limiter::throttled`] itself (and [`Limiter::succeeded`] on success) if the limit should
/// adapt.
pub async fn walk<'g, N, E, F, Fut>(
    dag: &'g Dag<N>,
    limiter: &Limiter,
    cancel: &CancellationToken,
    visit: F,
) -> WalkReport<E>
where
    F: Fn(NodeId, &'g N) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut walker = Walker::new(dag);
    let mut in_flight = FuturesUnordered::new();
    loop {
        while !cancel.is_cancelled() && !walker.ready.is_empty() {
            let Some(permit) = limiter.try_acquire() else {
                break;
            };
            let id = walker.next_ready();
            in_flight.push(run(id, permit, visit(id, dag.node(id))));
        }
        let idle = walker.ready.is_empty() || cancel.is_cancelled();
        let finished = if in_flight.is_empty() {
            if idle {
                break;
            }
            // Work is ready but every permit is held by someone sharing the limiter.
            tokio::select! {
                permit = limiter.acquire() => {
                    if !cancel.is_cancelled() {
                        let id = walker.next_ready();
                        in_flight.push(run(id, permit, visit(id, dag.node(id))));
                    }
                    continue;
                }
                () = cancel.cancelled() => continue,
            }
        } else if idle {
            in_flight.next().await
        } else {
            // Work is ready but no permit is free: whichever comes first, one of our visits
            // finishing or a permit released elsewhere (or the limit growing).
            tokio::select! {
                biased;
                finished = in_flight.next() => finished,
                permit = limiter.acquire() => {
                    if !cancel.is_cancelled() {
                        let id = walker.next_ready();
                        in_flight.push(run(id, permit, visit(id, dag.node(id))));
                    }
                    continue;
                }
            }
        };
        if let Some((id, result)) = finished {
            walker.finish(id, result);
        }
    }
    walker.into_report()
}

/// Runs one visit while holding its permit, returning the permit as soon as the visit ends.
async fn run<E>(
    id: NodeId,
    permit: Permit,
    visit: impl Future<Output = Result<(), E>>,
) -> (NodeId, Result<(), E>) {
    let result = visit.await;
    drop(permit);
    (id, result)
}

/// The bookkeeping of a walk, indexed by node index.
struct Walker<'g, N, E> {
    dag: &'g Dag<N>,
    /// How many dependencies of each node are not yet done.
    waiting: Vec<u32>,
    outcomes: Vec<Option<Outcome<E>>>,
    ready: VecDeque<NodeId>,
}

impl<'g, N, E> Walker<'g, N, E> {
    fn new(dag: &'g Dag<N>) -> Self {
        let waiting: Vec<u32> = dag
            .node_ids()
            .map(|id| dag.dependencies(id).count() as u32)
            .collect();
        let ready = dag
            .node_ids()
            .filter(|id| waiting[id.index()] == 0)
            .collect();
        Walker {
            dag,
            waiting,
            outcomes: (0..dag.len()).map(|_| None).collect(),
            ready,
        }
    }

    fn next_ready(&mut self) -> NodeId {
        self.ready
            .pop_front()
            .expect("callers check that a node is ready")
    }

    fn finish(&mut self, id: NodeId, result: Result<(), E>) {
        match result {
            Ok(()) => {
                self.outcomes[id.index()] = Some(Outcome::Done);
                for dependent in self.dag.dependents(id) {
                    let w = &mut self.waiting[dependent.index()];
                    *w -= 1;
                    // A dependent may already be skipped because another dependency failed.
                    if *w == 0 && self.outcomes[dependent.index()].is_none() {
                        self.ready.push_back(dependent);
                    }
                }
            }
            Err(e) => {
                self.outcomes[id.index()] = Some(Outcome::Failed(e));
                // Nodes already decided (skipped by an earlier failure) are not expanded again,
                // so all skips of a walk cost O(nodes + edges) in total.
                let mut stack: Vec<NodeId> = self.dag.dependents(id).collect();
                while let Some(d) = stack.pop() {
                    let slot = &mut self.outcomes[d.index()];
                    if slot.is_none() {
                        *slot = Some(Outcome::Skipped { because: id });
                        stack.extend(self.dag.dependents(d));
                    }
                }
            }
        }
    }

    fn into_report(self) -> WalkReport<E> {
        let outcomes = self
            .dag
            .node_ids()
            .zip(self.outcomes)
            .map(|(id, o)| (id, o.unwrap_or(Outcome::NotStarted)))
            .collect();
        WalkReport { outcomes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::collections::HashSet;
    use std::time::Duration;
    use tokio::time::{sleep, Instant};

    fn independent(n: usize) -> Dag<usize> {
        let mut dag = Dag::with_capacity(n, 0);
        for i in 0..n {
            dag.add_node(i);
        }
        dag
    }

    #[tokio::test(start_paused = true)]
    async fn visits_every_node_after_its_dependencies() {
        let mut dag = Dag::new();
        let ids: Vec<NodeId> = (0..6).map(|i| dag.add_node(i)).collect();
        dag.add_dependency(ids[1], ids[0]);
        dag.add_dependency(ids[2], ids[0]);
        dag.add_dependency(ids[3], ids[1]);
        dag.add_dependency(ids[3], ids[2]);
        dag.add_dependency(ids[5], ids[4]);
        let done: RefCell<HashSet<NodeId>> = RefCell::default();
        let report = walk(
            &dag,
            &Limiter::new(4),
            &CancellationToken::new(),
            |id, n| {
                let done = &done;
                let dag = &dag;
                async move {
                    for dep in dag.dependencies(id) {
                        assert!(done.borrow().contains(&dep), "{dep:?} before {id:?}");
                    }
                    // Longer visits for lower numbers, to shuffle completion order.
                    sleep(Duration::from_millis(10 * (6 - *n as u64))).await;
                    done.borrow_mut().insert(id);
                    Ok::<(), String>(())
                }
            },
        )
        .await;
        assert!(report.all_done());
        assert_eq!(done.borrow().len(), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_skips_exactly_its_transitive_dependents() {
        let mut dag = Dag::new();
        let [a, b, c, d, x, y, z] = ["a", "b", "c", "d", "x", "y", "z"].map(|n| dag.add_node(n));
        dag.add_dependency(b, a);
        dag.add_dependency(c, b);
        dag.add_dependency(d, c);
        dag.add_dependency(y, x);
        dag.add_dependency(z, x);
        dag.add_dependency(z, b);
        let visited: RefCell<Vec<&str>> = RefCell::default();
        let report = walk(
            &dag,
            &Limiter::new(8),
            &CancellationToken::new(),
            |_, name| {
                visited.borrow_mut().push(name);
                async move {
                    sleep(Duration::from_millis(5)).await;
                    if *name == "b" {
                        Err(format!("{name} broke"))
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .await;
        assert_eq!(report.outcome(a), Some(&Outcome::Done));
        assert_eq!(report.outcome(x), Some(&Outcome::Done));
        assert_eq!(report.outcome(y), Some(&Outcome::Done));
        assert_eq!(report.failed(), vec![(b, &"b broke".to_string())]);
        assert_eq!(report.skipped(), vec![(c, b), (d, b), (z, b)]);
        let mut visited = visited.into_inner();
        visited.sort_unstable();
        assert_eq!(visited, vec!["a", "b", "x", "y"]);
        assert!(!report.all_done());
    }

    #[tokio::test(start_paused = true)]
    async fn cancelling_stops_new_starts_and_lets_running_visits_finish() {
        let dag = independent(10);
        let cancel = CancellationToken::new();
        let started = Cell::new(0);
        let report = walk(&dag, &Limiter::new(3), &cancel, |_, _| {
            started.set(started.get() + 1);
            let cancel = &cancel;
            async move {
                sleep(Duration::from_millis(10)).await;
                cancel.cancel();
                sleep(Duration::from_millis(10)).await;
                Ok::<(), ()>(())
            }
        })
        .await;
        assert_eq!(
            started.get(),
            3,
            "only the visits started before the cancel"
        );
        assert_eq!(report.done().len(), 3, "in-flight visits run to completion");
        assert_eq!(report.not_started().len(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn cancelled_before_start_visits_nothing() {
        let mut dag = independent(3);
        let ids: Vec<NodeId> = dag.node_ids().collect();
        dag.add_dependency(ids[1], ids[0]);
        let cancel = CancellationToken::new();
        cancel.cancel();
        let report = walk(&dag, &Limiter::new(3), &cancel, |_, _| async {
            panic!("no visit may start after cancellation")
        })
        .await;
        let _: &WalkReport<()> = &report;
        assert_eq!(report.not_started(), ids);
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_in_flight_than_the_limit_and_uses_all_of_it() {
        let dag = independent(200);
        let running = Cell::new(0usize);
        let peak = Cell::new(0usize);
        let report = walk(&dag, &Limiter::new(8), &CancellationToken::new(), |_, n| {
            let (running, peak) = (&running, &peak);
            async move {
                running.set(running.get() + 1);
                peak.set(peak.get().max(running.get()));
                sleep(Duration::from_millis(1 + (*n as u64 % 7))).await;
                running.set(running.get() - 1);
                Ok::<(), ()>(())
            }
        })
        .await;
        assert!(report.all_done());
        assert_eq!(peak.get(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_limit_is_respected_mid_walk() {
        let dag = independent(40);
        let limiter = Limiter::adaptive(8, 1, 8);
        // Enough calls went through for throttling to be taken as overload.
        for _ in 0..crate::limiter::MIN_LOAD {
            limiter.succeeded();
        }
        let running = Cell::new(0usize);
        // (limit, visits running including this one) at every start.
        let starts: RefCell<Vec<(usize, usize)>> = RefCell::default();
        let report = walk(&dag, &limiter, &CancellationToken::new(), |_, n| {
            running.set(running.get() + 1);
            starts.borrow_mut().push((limiter.current(), running.get()));
            let (running, limiter) = (&running, &limiter);
            async move {
                // The first visit is throttled before any other of the first wave ends.
                if *n == 0 {
                    sleep(Duration::from_millis(5)).await;
                    limiter.throttled();
                } else {
                    sleep(Duration::from_millis(10)).await;
                }
                running.set(running.get() - 1);
                Ok::<(), ()>(())
            }
        })
        .await;
        assert!(report.all_done());
        assert_eq!(limiter.current(), 4);
        let starts = starts.into_inner();
        assert!(
            starts.iter().all(|&(limit, running)| running <= limit),
            "{starts:?}"
        );
        let after: Vec<usize> = starts.iter().filter(|s| s.0 == 4).map(|s| s.1).collect();
        assert_eq!(
            after.len(),
            32,
            "the rest of the walk runs under the halved limit"
        );
        assert_eq!(after.iter().max(), Some(&4));
        assert_eq!(limiter.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn independent_nodes_run_in_waves_of_the_limit() {
        // 3,000 visits of 50 ms at a bound of 64 must take ⌈3000/64⌉ × 50 ms of (virtual) time:
        // any serialisation in the scheduler would show up as extra rounds.
        let dag = independent(3000);
        let start = Instant::now();
        let report = walk(
            &dag,
            &Limiter::new(64),
            &CancellationToken::new(),
            |_, _| async {
                sleep(Duration::from_millis(50)).await;
                Ok::<(), ()>(())
            },
        )
        .await;
        assert!(report.all_done());
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(3000u64.div_ceil(64) * 50)
        );
    }
}
