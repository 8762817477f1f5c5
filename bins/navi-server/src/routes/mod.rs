//! One module per resource. Each exposes `configure`, mounted by [`crate::app::build_app`].

pub mod health;
