//! Fargate task sizes: the fixed table of CPU and memory pairs, and the smallest one that fits.

/// CPU units and the memory sizes (MiB) Fargate offers with them, fewest CPU units first.
fn sizes() -> impl Iterator<Item = (u32, u32)> {
    // 256 CPU units come with three sizes only; the others with every step between two bounds.
    const SMALLEST: [(u32, u32); 3] = [(256, 512), (256, 1024), (256, 2048)];
    const RANGES: &[(u32, u32, u32, u32)] = &[
        // (cpu, lowest memory, highest memory, step)
        (512, 1024, 4096, 1024),
        (1024, 2048, 8192, 1024),
        (2048, 4096, 16384, 1024),
        (4096, 8192, 30720, 1024),
        (8192, 16384, 61440, 4096),
        (16384, 32768, 122880, 8192),
    ];
    let ranges = RANGES
        .iter()
        .flat_map(|&(cpu, low, high, step)| (low..=high).step_by(step as usize).map(move |memory| (cpu, memory)));
    SMALLEST.into_iter().chain(ranges)
}

/// The smallest Fargate size with at least `cpu` units and `memory` MiB, fewest CPU units first.
pub fn smallest_fit(cpu: u32, memory: u32) -> Option<(u32, u32)> {
    sizes().find(|&(c, m)| c >= cpu && m >= memory)
}

/// Whether `(cpu, memory)` is a size Fargate offers.
#[cfg(test)]
fn is_valid(cpu: u32, memory: u32) -> bool {
    sizes().any(|size| size == (cpu, memory))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_smallest_that_fits() {
        assert_eq!(smallest_fit(0, 0), Some((256, 512)));
        assert_eq!(smallest_fit(256, 1536), Some((256, 2048)));
        assert_eq!(smallest_fit(0, 1025), Some((256, 2048)));
        assert_eq!(smallest_fit(300, 600), Some((512, 1024)));
        assert_eq!(smallest_fit(256, 3000), Some((512, 3072)));
        assert_eq!(smallest_fit(1024, 9000), Some((2048, 9216)));
        assert_eq!(smallest_fit(8192, 17000), Some((8192, 20480)));
        assert_eq!(smallest_fit(16384, 130000), None);
    }

    #[test]
    fn every_listed_size_is_valid() {
        assert!(is_valid(256, 512) && is_valid(4096, 30720) && is_valid(16384, 122880));
        assert!(!is_valid(256, 4096) && !is_valid(256, 1536) && !is_valid(8192, 18432));
    }
}
