//! Log lines: defmt where the board has a logger (`cfg(defmt_log)`, set by build.rs: the MPS2
//! boards), nothing elsewhere (the Cortex-M0, whose flash the log would crowd, and RISC-V).

macro_rules! info {
    ($($t:tt)*) => {{
        #[cfg(defmt_log)]
        {
            defmt::info!($($t)*);
        }
    }};
}

macro_rules! warning {
    ($($t:tt)*) => {{
        #[cfg(defmt_log)]
        {
            defmt::warn!($($t)*);
        }
    }};
}

macro_rules! error {
    ($($t:tt)*) => {{
        #[cfg(defmt_log)]
        {
            defmt::error!($($t)*);
        }
    }};
}

pub(crate) use {error, info, warning as warn};
