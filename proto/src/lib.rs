//! Rerank frames (work in progress).
#![no_std]
