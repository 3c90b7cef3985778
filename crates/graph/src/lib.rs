//! A dependency DAG over petgraph: building, cycle reports, and a parallel walker with bounded, adaptive concurrency. Knows nothing of clouds.
