//! One home per command. Each reads its typed config, drives the stages and the service's
//! controller, and decides the outputs.

pub mod abort;
pub mod deploy;
pub mod fleet;
pub mod promote;
pub mod rollback;
pub mod status;
pub mod tag;
pub mod task;
