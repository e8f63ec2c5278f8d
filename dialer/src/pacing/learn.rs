//! Online-learned distributions for the predictive pacer.
//!
//! Durations are kept in fixed-bin histograms whose counts decay exponentially, so the model
//! follows a campaign whose answer rate drifts over the day. From them the pacer precomputes,
//! for one horizon, lookup tables indexed by elapsed time: the chance a busy agent is free by
//! the horizon, and the chance a call in flight turns into a live answer by then. Tables are
//! rebuilt every few seconds, so one decision is only table lookups, with no allocation.

/// A histogram of durations with exponentially decaying counts. The last bin absorbs overflow.
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    bin: f64,
    counts: Vec<f64>,
    total: f64,
    cdf: Vec<f64>,
}

impl Histogram {
    /// Bins of `bin` seconds covering `[0, max)`.
    pub(crate) fn new(bin: f64, max: f64) -> Self {
        let bins = ((max / bin).ceil() as usize).max(1);
        Self {
            bin,
            counts: vec![0.0; bins],
            total: 0.0,
            cdf: vec![0.0; bins],
        }
    }

    pub(crate) fn add(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        let last = self.counts.len() - 1;
        let idx = ((x.max(0.0) / self.bin) as usize).min(last);
        self.counts[idx] += 1.0;
        self.total += 1.0;
    }

    /// Multiplies every count by `factor` (old observations weigh less).
    pub(crate) fn decay(&mut self, factor: f64) {
        for c in &mut self.counts {
            *c *= factor;
        }
        self.total *= factor;
    }

    /// The decayed number of observations.
    pub(crate) fn weight(&self) -> f64 {
        self.total
    }

    /// Refreshes the cumulative table used by [`Histogram::cdf`].
    pub(crate) fn refresh(&mut self) {
        let mut acc = 0.0;
        let total = self.total.max(f64::MIN_POSITIVE);
        for (c, out) in self.counts.iter().zip(self.cdf.iter_mut()) {
            acc += c;
            *out = (acc / total).min(1.0);
        }
    }

    /// P(X ≤ x), mass spread uniformly within each bin (as of the last refresh).
    pub(crate) fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 || self.total <= 0.0 {
            return 0.0;
        }
        let pos = x / self.bin;
        let k = pos as usize;
        if k >= self.cdf.len() {
            return 1.0;
        }
        let lower = if k == 0 { 0.0 } else { self.cdf[k - 1] };
        lower + (pos - k as f64) * (self.cdf[k] - lower)
    }

    /// Probability mass of bin `i` and its midpoint, for convolutions.
    pub(crate) fn bins(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let total = self.total.max(f64::MIN_POSITIVE);
        self.counts
            .iter()
            .enumerate()
            .map(move |(i, c)| ((i as f64 + 0.5) * self.bin, c / total))
    }
}

/// A lookup table over elapsed time with fixed steps; past the end the last value holds.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    step: f64,
    values: Vec<f64>,
}

impl Table {
    pub(crate) fn new(step: f64, max: f64) -> Self {
        let len = ((max / step).ceil() as usize).max(1) + 1;
        Self {
            step,
            values: vec![0.0; len],
        }
    }

    /// Recomputes every entry from `f(elapsed)` at the middle of each step.
    pub(crate) fn fill(&mut self, mut f: impl FnMut(f64) -> f64) {
        let step = self.step;
        for (i, v) in self.values.iter_mut().enumerate() {
            *v = f((i as f64 + 0.5) * step);
        }
    }

    #[inline]
    pub(crate) fn get(&self, elapsed: f64) -> f64 {
        let last = self.values.len() - 1;
        let idx = ((elapsed.max(0.0) / self.step) as usize).min(last);
        self.values[idx]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_cdf_interpolates_and_decays() {
        let mut h = Histogram::new(1.0, 10.0);
        for x in [0.5, 1.5, 2.5, 3.5] {
            h.add(x);
        }
        h.refresh();
        assert!((h.cdf(2.0) - 0.5).abs() < 1e-12);
        assert!((h.cdf(2.5) - 0.625).abs() < 1e-12);
        assert_eq!(h.cdf(50.0), 1.0);
        h.decay(0.5);
        assert!((h.weight() - 2.0).abs() < 1e-12);
        h.refresh();
        assert!((h.cdf(2.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn table_holds_last_value() {
        let mut t = Table::new(1.0, 3.0);
        t.fill(|e| e);
        assert_eq!(t.get(0.2), 0.5);
        assert_eq!(t.get(100.0), 3.5);
    }
}
