//! Errors the engine returns. Configuration problems carry diagnostics; the rest carry enough
//! context (stack, address) to act on.

use strata_core::Diagnostic;
use strata_state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The configuration is invalid; every diagnostic found is included.
    #[error("{}", render(.0))]
    Config(Vec<Diagnostic>),
    #[error(transparent)]
    State(#[from] StateError),
    /// A saved plan no longer matches the state or the configuration.
    #[error("{message}")]
    StalePlan { message: String },
    /// The user asked for something the engine refuses to do (destroying a stack others consume,
    /// a prevent_destroy resource).
    #[error("{message}")]
    Refused {
        message: String,
        hint: Option<String>,
    },
    #[error("{0}")]
    Other(String),
}

fn render(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.render())
        .collect::<Vec<_>>()
        .join("\n")
}

impl EngineError {
    pub fn refused(message: impl Into<String>, hint: Option<String>) -> EngineError {
        EngineError::Refused {
            message: message.into(),
            hint,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            EngineError::Refused { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }
}

impl From<strata_config::Diagnostics> for EngineError {
    fn from(d: strata_config::Diagnostics) -> EngineError {
        EngineError::Config(d.0)
    }
}
