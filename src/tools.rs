//! Tool definitions for the AI at run time (placeholder, filled in by this change).
