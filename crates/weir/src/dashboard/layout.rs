//! The page's layout: each stage's column (its longest path from a
//! source) and its place in the column.

/// `(layer, row)` for each of `n` stages joined by `edges` (`from`, `to`
/// positions): a stage's layer is one more than its furthest upstream
/// stage's, so every edge points right; within a layer, stages are
/// ordered by where their inputs are, so lines cross less.
pub(crate) fn layers(n: usize, edges: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut layer = vec![0usize; n];
    // A pipeline's graph has no cycle (a stage's input exists before it),
    // so n rounds reach the fixed point; most end after one or two.
    for _ in 0..n {
        let mut changed = false;
        for &(from, to) in edges {
            if from < n && to < n && layer[to] < layer[from] + 1 {
                layer[to] = layer[from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let depth = layer.iter().max().map_or(0, |d| d + 1);
    let mut row = vec![0usize; n];
    let mut placed = vec![false; n];
    for l in 0..depth {
        // Order a column by the mean row of each stage's inputs (sources
        // keep their build order).
        let mut column: Vec<(f64, usize)> = (0..n)
            .filter(|&i| layer[i] == l)
            .map(|i| {
                let inputs: Vec<usize> = edges
                    .iter()
                    .filter(|&&(from, to)| to == i && from < n && placed[from])
                    .map(|&(from, _)| row[from])
                    .collect();
                let key = if inputs.is_empty() {
                    i as f64
                } else {
                    inputs.iter().sum::<usize>() as f64 / inputs.len() as f64
                };
                (key, i)
            })
            .collect();
        column.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (r, &(_, i)) in column.iter().enumerate() {
            row[i] = r;
            placed[i] = true;
        }
    }
    layer.into_iter().zip(row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_line_goes_left_to_right() {
        let edges = [(0, 1), (1, 2)];
        assert_eq!(layers(3, &edges), [(0, 0), (1, 0), (2, 0)]);
    }

    #[test]
    fn a_split_and_merge_share_columns() {
        // 0 -> {1, 2} -> 3
        let edges = [(0, 1), (0, 2), (1, 3), (2, 3)];
        assert_eq!(layers(4, &edges), [(0, 0), (1, 0), (1, 1), (2, 0)]);
    }

    #[test]
    fn a_skip_edge_puts_the_merge_after_the_longer_branch() {
        // 0 -> 1 -> 2 -> 3 and 0 -> 3
        let edges = [(0, 1), (1, 2), (2, 3), (0, 3)];
        assert_eq!(layers(4, &edges)[3], (3, 0));
    }

    #[test]
    fn fifty_stages_get_distinct_cells_and_every_edge_points_right() {
        // A source, a 10-way broadcast, four stages on each branch, merged
        // back: 1 + 40 + 1 + ... = 50 stages.
        let mut edges = Vec::new();
        let mut n = 1;
        let mut tails = Vec::new();
        for _ in 0..10 {
            let mut prev = 0;
            for _ in 0..4 {
                edges.push((prev, n));
                prev = n;
                n += 1;
            }
            tails.push(prev);
        }
        let merge = n;
        n += 1;
        for t in tails {
            edges.push((t, merge));
        }
        let mut prev = merge;
        while n < 50 {
            edges.push((prev, n));
            prev = n;
            n += 1;
        }
        let cells = layers(50, &edges);
        assert_eq!(cells.len(), 50);
        let distinct: HashSet<_> = cells.iter().collect();
        assert_eq!(distinct.len(), 50, "two stages in one cell: {cells:?}");
        for &(from, to) in &edges {
            assert!(cells[from].0 < cells[to].0, "{from} -> {to}: {cells:?}");
        }
        // Ten branches side by side: the widest column has ten rows, and
        // the graph is as deep as its longest path, not as long as its
        // stage count.
        assert_eq!(cells.iter().map(|c| c.1).max(), Some(9));
        assert_eq!(cells.iter().map(|c| c.0).max(), Some(5 + 50 - 42));
    }
}
