//! The onprem provider: k3s clusters installed over SSH on hosts the user owns.
