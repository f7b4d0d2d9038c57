//! Generators for the `algorithms` domain: small algorithms traced by hand.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::fmt::join;
use super::params::{NoParams, NonEmpty, kinds, list, params};
use super::{Gen, Kind, criterion, exact, free_form, step};
use crate::error::Result;
use crate::task::Generated;

pub(crate) const KINDS: &[Kind] = kinds![
    "binary_search_probes" => binary_search_probes(BinarySearchProbesParams),
    "base_conversion" => base_conversion(BaseConversionParams),
    "bfs_shortest_path" => bfs_shortest_path(BfsShortestPathParams),
    "topo_order_check" => topo_order_check(TopoOrderCheckParams),
    "bubble_sort_passes" => bubble_sort_passes(BubbleSortPassesParams),
    "euclid_gcd_steps" => euclid_gcd_steps(NoParams),
    "rpn_evaluate" => rpn_evaluate(RpnEvaluateParams),
    "merge_intervals" => merge_intervals(MergeIntervalsParams),
];

// ---------------------------------------------------------------- binary search

/// One probe of a binary search: (lo, hi, mid, value at mid).
type Probe = (usize, usize, usize, i64);

/// Probes of a binary search with mid = floor((lo+hi)/2); also whether the target was found.
fn binary_search(xs: &[i64], target: i64) -> (Vec<Probe>, bool) {
    let mut probes = Vec::new();
    let (mut lo, mut hi) = (0i64, xs.len() as i64 - 1);
    while lo <= hi {
        let mid = (lo + hi) / 2;
        let v = xs[mid as usize];
        probes.push((lo as usize, hi as usize, mid as usize, v));
        if v == target {
            return (probes, true);
        } else if v < target {
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    (probes, false)
}

fn probe_text(p: &Probe, target: i64) -> String {
    let (lo, hi, mid, v) = *p;
    let next = if v == target {
        "found".to_string()
    } else if v < target {
        format!("{v} < {target} → lo = {}", mid + 1)
    } else if mid == 0 {
        format!("{v} > {target} → hi = −1")
    } else {
        format!("{v} > {target} → hi = {}", mid - 1)
    };
    format!("lo={lo}, hi={hi}: mid=⌊({lo}+{hi})/2⌋={mid}, value {v}; {next}")
}

params! {
    /// Parameters of `binary_search_probes`.
    struct BinarySearchProbesParams {
        /// Shortest list (at least 2).
        min_len: i64 = 8,
        /// Longest list (at least 2).
        max_len: i64 = 20,
    }
}

/// The values a binary search probes, for a present or absent target.
fn binary_search_probes(g: &mut Gen, p: &BinarySearchProbesParams) -> Result<Generated> {
    let n = g.range(p.min_len.max(2), p.max_len.max(2)) as usize;
    let mut xs = Vec::with_capacity(n);
    let mut v = g.range(1, 20);
    for _ in 0..n {
        xs.push(v);
        v += g.range(1, 9);
    }
    let present = g.chance(0.55);
    let target = if present {
        xs[g.range(0, n as i64 - 1) as usize]
    } else {
        match g.range(0, 5) {
            0 => xs[0] - g.range(1, 3),
            1 => xs[n - 1] + g.range(1, 5),
            _ => {
                // A gap between neighbours, when one exists.
                let gaps: Vec<usize> = (0..n - 1).filter(|&i| xs[i + 1] - xs[i] >= 2).collect();
                if gaps.is_empty() {
                    xs[n - 1] + 1
                } else {
                    let i = *g.pick(&gaps);
                    xs[i] + 1
                }
            }
        }
    };
    let (probes, found) = binary_search(&xs, target);
    let answer = join(&probes.iter().map(|p| p.3).collect::<Vec<_>>(), ", ");
    let prompt = format!(
        "Binary search is run on this sorted list (positions are numbered from 0):\n[{}]\nTarget: {target}\n\nThe \
search keeps a range lo..hi, starting with lo = 0 and hi = the last position. Each round it probes position \
mid = (lo + hi) / 2 rounded down. If the probed value equals the target it stops; if the value is smaller than the \
target it continues with lo = mid + 1; if larger, with hi = mid − 1. It gives up as soon as lo > hi. List every \
value it probes, in order, comma-separated.",
        join(&xs, ", ")
    );
    let first = &probes[0];
    let rest: Vec<String> = probes[1..].iter().map(|p| probe_text(p, target)).collect();
    let end = if found {
        format!("found {target} at position {}", probes.last().map(|p| p.2).unwrap_or(0))
    } else {
        let last = probes.last().copied().unwrap_or((0, 0, 0, 0));
        let (lo, hi) =
            if last.3 < target { (last.2 as i64 + 1, last.1 as i64) } else { (last.0 as i64, last.2 as i64 - 1) };
        format!("not found: lo={lo} > hi={hi}")
    };
    let first_next = if first.3 == target {
        format!("{} = {target}: stop.", first.3)
    } else if first.3 < target {
        format!("{} < {target} → lo = {}, hi = {}.", first.3, first.2 + 1, first.1)
    } else {
        format!("{} > {target} → lo = {}, hi = {}.", first.3, first.0, first.2 as i64 - 1)
    };
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(format!("{n} values, positions 0–{}: lo = 0, hi = {}.", n - 1, n - 1), format!("lo=0, hi={}", n - 1)),
            step(format!("mid = ⌊(0+{})/2⌋ = {}, value {}.", n - 1, first.2, first.3), first.3.to_string()),
            step(first_next, if first.3 == target { "found".to_string() } else { "range narrowed".to_string() }),
            step(
                if rest.is_empty() {
                    format!("No more rounds; {end}.")
                } else {
                    format!("{}; {end}.", rest.join("; "))
                },
                end.clone(),
            ),
            step(format!("Probed values in order: {answer}."), answer),
        ],
    ))
}

// ---------------------------------------------------------------- base conversion

fn digit_char(d: u64) -> char {
    std::char::from_digit(d as u32, 36).unwrap_or('?').to_ascii_uppercase()
}

fn to_base(mut n: u64, b: u64) -> String {
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(digit_char(n % b));
        n /= b;
    }
    out.iter().rev().collect()
}

params! {
    /// Parameters of `base_conversion`.
    struct BaseConversionParams {
        /// The bases drawn from, each 2 to 16 (at least two different ones).
        bases: NonEmpty<u64> = list(&[2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16]),
        /// Smallest value converted (at least 1).
        min_value: i64 = 40,
        /// Largest value converted (at least 2).
        max_value: i64 = 3000,
    }
}

/// Convert a number between two non-decimal (or decimal) bases via base 10.
fn base_conversion(g: &mut Gen, p: &BaseConversionParams) -> Result<Generated> {
    let bases = &p.bases;
    if bases.iter().any(|b| !(2..=16).contains(b)) || bases.iter().all(|b| *b == bases[0]) {
        return Err(g.param_error("bases", "need at least two different bases, each between 2 and 16"));
    }
    let from = *g.pick(bases);
    let mut to = *g.pick(bases);
    while to == from {
        to = *g.pick(bases);
    }
    let value = g.range(p.min_value.max(1), p.max_value.max(2)) as u64;
    let src = to_base(value, from);
    let answer = to_base(value, to);
    let prompt = format!(
        "Convert the base-{from} number {src} to base {to}. Digits above 9 are written as letters: A=10, B=11, \
C=12, D=13, E=14, F=15. Answer with the base-{to} digits only (no prefix, subscript or base label)."
    );
    let sd: Vec<u64> = src.chars().map(|c| c.to_digit(16).unwrap_or(0) as u64).collect();
    let k = sd.len();
    let places: Vec<String> = sd
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{}×{from}^{} ({}×{})", digit_char(*d), k - 1 - i, d, from.pow((k - 1 - i) as u32)))
        .collect();
    let prods: Vec<u64> = sd.iter().enumerate().map(|(i, d)| d * from.pow((k - 1 - i) as u32)).collect();
    let mut divs = Vec::new();
    let mut n = value;
    while n > 0 {
        divs.push((n, n / to, n % to));
        n /= to;
    }
    let div_text = |d: &(u64, u64, u64)| format!("{} ÷ {to} = {} r {}", d.0, d.1, d.2);
    let rems: Vec<String> = divs.iter().rev().map(|d| format!("{}→{}", d.2, digit_char(d.2))).collect();
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(format!("{src} in base {from}: {}.", places.join(" + ")), join(&prods, " + ")),
            step(format!("{} = {value} in base 10.", join(&prods, " + ")), value.to_string()),
            step(div_text(&divs[0]), format!("q {} r {}", divs[0].1, divs[0].2)),
            step(
                if divs.len() > 1 {
                    divs[1..].iter().map(div_text).collect::<Vec<_>>().join("; ")
                } else {
                    "The quotient is already 0.".to_string()
                },
                format!("{} divisions", divs.len()),
            ),
            step(format!("Remainders from last to first: {} → {answer}.", rems.join(", ")), answer),
        ],
    ))
}

// ---------------------------------------------------------------- graphs

fn letter(i: usize) -> char {
    char::from(b'A' + i as u8)
}

/// BFS from `start` with alphabetical neighbour order; returns the discovery log
/// (node dequeued, newly discovered neighbours) up to the target's discovery and the parent map.
#[allow(clippy::type_complexity)]
fn bfs(
    adj: &BTreeMap<char, BTreeSet<char>>,
    start: char,
    target: char,
) -> (Vec<(char, Vec<char>)>, BTreeMap<char, char>) {
    let mut parent: BTreeMap<char, char> = BTreeMap::new();
    let mut seen: BTreeSet<char> = BTreeSet::from([start]);
    let mut queue = VecDeque::from([start]);
    let mut log = Vec::new();
    while let Some(u) = queue.pop_front() {
        let mut found = Vec::new();
        for &v in adj.get(&u).into_iter().flatten() {
            if seen.insert(v) {
                parent.insert(v, u);
                queue.push_back(v);
                found.push(v);
            }
        }
        let done = found.contains(&target);
        log.push((u, found));
        if done {
            break;
        }
    }
    (log, parent)
}

fn path_to(parent: &BTreeMap<char, char>, start: char, target: char) -> Vec<char> {
    let mut path = vec![target];
    let mut cur = target;
    while cur != start {
        match parent.get(&cur) {
            Some(&p) => {
                path.push(p);
                cur = p;
            }
            None => return Vec::new(),
        }
    }
    path.reverse();
    path
}

params! {
    /// Parameters of `bfs_shortest_path`.
    struct BfsShortestPathParams {
        /// Fewest nodes (4 to 26).
        min_nodes: i64 = 6,
        /// Most nodes (4 to 26).
        max_nodes: i64 = 9,
    }
}

/// Shortest path by BFS on a small undirected graph, alphabetical tie-break.
fn bfs_shortest_path(g: &mut Gen, p: &BfsShortestPathParams) -> Result<Generated> {
    let n = g.range(p.min_nodes.clamp(4, 26), p.max_nodes.clamp(4, 26)) as usize;
    let order = g.distinct(n, n);
    let mut edges: BTreeSet<(char, char)> = BTreeSet::new();
    let add = |edges: &mut BTreeSet<(char, char)>, a: usize, b: usize| {
        let (x, y) = (letter(a), letter(b));
        if x != y {
            edges.insert((x.min(y), x.max(y)));
        }
    };
    for i in 1..n {
        let j = g.range(0, i as i64 - 1) as usize;
        add(&mut edges, order[i], order[j]);
    }
    let extra = g.range(n as i64 / 3, n as i64 / 2 + 1);
    for _ in 0..extra {
        let a = g.range(0, n as i64 - 1) as usize;
        let b = g.range(0, n as i64 - 1) as usize;
        add(&mut edges, a, b);
    }
    let mut adj: BTreeMap<char, BTreeSet<char>> = BTreeMap::new();
    for &(a, b) in &edges {
        adj.entry(a).or_default().insert(b);
        adj.entry(b).or_default().insert(a);
    }
    // Pick a start/target pair at distance >= 2 (prefer >= 3).
    let dist = |s: char, t: char| -> usize {
        let (_, parent) = bfs(&adj, s, t);
        path_to(&parent, s, t).len().saturating_sub(1)
    };
    let mut pairs: Vec<(char, char, usize)> = Vec::new();
    for a in 0..n {
        for b in 0..n {
            if a != b {
                let d = dist(letter(a), letter(b));
                if d >= 2 {
                    pairs.push((letter(a), letter(b), d));
                }
            }
        }
    }
    if pairs.is_empty() {
        return Err(g.param_error("min_nodes", "graph too small for a path of two edges"));
    }
    let far: Vec<(char, char, usize)> = pairs.iter().copied().filter(|p| p.2 >= 3).collect();
    let (start, target, _) = if !far.is_empty() && g.chance(0.6) { *g.pick(&far) } else { *g.pick(&pairs) };
    let (log, parent) = bfs(&adj, start, target);
    let path = path_to(&parent, start, target);
    let answer = join(&path, ", ");
    let mut shown: Vec<String> =
        edges.iter().map(|&(a, b)| if g.chance(0.5) { format!("{a}-{b}") } else { format!("{b}-{a}") }).collect();
    let perm = g.distinct(shown.len(), shown.len());
    shown = perm.iter().map(|&i| shown[i].clone()).collect();
    let prompt = format!(
        "An undirected graph has nodes {} and these edges (each can be travelled both ways):\n{}\n\nFind a shortest \
path (fewest edges) from {start} to {target}. If several shortest paths exist, give the one that comes first \
alphabetically when the paths are compared node by node from the start. Answer with the nodes of the path in \
order, comma-separated.",
        join(&(0..n).map(letter).collect::<Vec<_>>(), ", "),
        shown.join(", ")
    );
    let adj_text: Vec<String> =
        adj.iter().map(|(k, vs)| format!("{k}: {}", join(&vs.iter().collect::<Vec<_>>(), " "))).collect();
    let log_text: Vec<String> = log
        .iter()
        .map(|(u, found)| {
            if found.is_empty() {
                format!("take {u}: nothing new")
            } else {
                format!(
                    "take {u}: add {}",
                    found.iter().map(|v| format!("{v}(from {u})")).collect::<Vec<_>>().join(", ")
                )
            }
        })
        .collect();
    let chain: Vec<String> = path.iter().rev().map(|c| c.to_string()).collect();
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                format!("Sorted neighbour lists: {}.", adj_text.join("; ")),
                format!("{n} nodes, {} edges", edges.len()),
            ),
            step(format!("Queue = [{start}], {start} visited, no parent."), format!("queue [{start}]")),
            step(format!("{}.", log_text.join("; ")), format!("{} nodes taken from the queue", log.len())),
            step(
                format!(
                    "{target} is reached from {} at distance {}.",
                    parent.get(&target).copied().unwrap_or('?'),
                    path.len() - 1
                ),
                format!("distance {}", path.len() - 1),
            ),
            step(format!("Parents back from {target}: {}; reversed: {answer}.", chain.join(" ← ")), answer),
        ],
    ))
}

/// First violated dependency of `order`: (task, missing prerequisite), scanning left to right.
fn first_violation(order: &[char], edges: &[(char, char)]) -> Option<(char, char)> {
    let mut placed: BTreeSet<char> = BTreeSet::new();
    for &x in order {
        let missing: BTreeSet<char> =
            edges.iter().filter(|(_, b)| *b == x).map(|(a, _)| *a).filter(|a| !placed.contains(a)).collect();
        if let Some(&p) = missing.iter().next() {
            return Some((x, p));
        }
        placed.insert(x);
    }
    None
}

params! {
    /// Parameters of `topo_order_check`.
    struct TopoOrderCheckParams {
        /// Fewest tasks (3 to 26).
        min_tasks: i64 = 5,
        /// Most tasks (3 to 26).
        max_tasks: i64 = 8,
    }
}

/// Free-form: is a proposed order a valid topological order, and which dependency fails first.
fn topo_order_check(g: &mut Gen, p: &TopoOrderCheckParams) -> Result<Generated> {
    let n = g.range(p.min_tasks.clamp(3, 26), p.max_tasks.clamp(3, 26)) as usize;
    let topo: Vec<char> = g.distinct(n, n).into_iter().map(letter).collect();
    let mut edges: BTreeSet<(char, char)> = BTreeSet::new();
    for i in 1..n {
        if g.chance(0.85) {
            let j = g.range(0, i as i64 - 1) as usize;
            edges.insert((topo[j], topo[i]));
        }
    }
    for _ in 0..g.range(1, n as i64 / 2 + 1) {
        let i = g.range(0, n as i64 - 2) as usize;
        let j = g.range(i as i64 + 1, n as i64 - 1) as usize;
        edges.insert((topo[i], topo[j]));
    }
    let edges: Vec<(char, char)> = edges.into_iter().collect();
    // A random valid order (Kahn with random choices).
    let mut indeg: BTreeMap<char, usize> = topo.iter().map(|&c| (c, 0)).collect();
    for &(_, b) in &edges {
        *indeg.entry(b).or_default() += 1;
    }
    let mut order = Vec::new();
    while order.len() < n {
        let ready: Vec<char> = indeg.iter().filter(|(c, d)| **d == 0 && !order.contains(*c)).map(|(c, _)| *c).collect();
        let c = *g.pick(&ready);
        order.push(c);
        for &(a, b) in &edges {
            if a == c {
                *indeg.entry(b).or_default() -= 1;
            }
        }
    }
    if g.chance(0.65) && !edges.is_empty() {
        // Break it: move the later end of a dependency in front of the earlier one.
        let (a, b) = *g.pick(&edges);
        let ia = order.iter().position(|&c| c == a).unwrap_or(0);
        order.retain(|&c| c != b);
        order.insert(ia, b);
    }
    let viol = first_violation(&order, &edges);
    let mut shown: Vec<String> = edges.iter().map(|(a, b)| format!("{a} -> {b}")).collect();
    let perm = g.distinct(shown.len(), shown.len());
    shown = perm.iter().map(|&i| shown[i].clone()).collect();
    let prompt = format!(
        "Tasks {} must be done in an order that respects these dependencies (X -> Y means X must be done before \
Y):\n{}\n\nProposed order: {}\n\nIs the proposed order a valid order for these dependencies? Explain your check. If \
it is not valid, name the first violated dependency: walk the order from left to right and stop at the first task \
that appears before one of its prerequisites, and report that dependency as X -> Y (if that task has several \
missing prerequisites, name the alphabetically first).",
        join(
            &{
                let mut t = topo.clone();
                t.sort();
                t
            },
            ", "
        ),
        shown.join(", "),
        join(&order, ", ")
    );
    let pos = |c: char| order.iter().position(|&x| x == c).map(|p| p + 1).unwrap_or(0);
    let mut prereqs: BTreeMap<char, Vec<char>> = BTreeMap::new();
    for &(a, b) in &edges {
        prereqs.entry(b).or_default().push(a);
    }
    let pre_text: Vec<String> = prereqs.iter().map(|(k, v)| format!("{k} needs {}", join(v, ", "))).collect();
    let stop = match viol {
        Some((x, _)) => pos(x),
        None => n,
    };
    let walk: Vec<String> = order[..stop]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let needs = prereqs.get(&c).cloned().unwrap_or_default();
            let missing: Vec<char> = needs.iter().copied().filter(|p| !order[..i].contains(p)).collect();
            if needs.is_empty() {
                format!("{}. {c}: no prerequisites", i + 1)
            } else if missing.is_empty() {
                format!("{}. {c}: {} already placed", i + 1, join(&needs, ", "))
            } else {
                format!("{}. {c}: missing {}", i + 1, join(&missing, ", "))
            }
        })
        .collect();
    let (answer, rubric, verdict_step, final_value) = match viol {
        Some((x, p)) => {
            let edge = format!("{p} -> {x}");
            let answer = format!(
                "The order is invalid. Walking it from left to right, {x} (position {}) appears before its \
prerequisite {p} (position {}), so the first violated dependency is {edge}.",
                pos(x),
                pos(p)
            );
            let answer = if pos(x) > 1 {
                format!("{answer} Every task before position {} has its prerequisites already placed.", pos(x))
            } else {
                answer
            };
            let rubric = vec![
                criterion("states that the proposed order is invalid", &["invalid"]),
                criterion(format!("names the first violated dependency, {edge}"), &[&edge]),
                criterion(format!("explains that {x} is placed before its prerequisite {p}"), &[]),
            ];
            (answer, rubric, format!("{x} is missing prerequisite {p} → invalid; violated dependency {edge}."), edge)
        }
        None => {
            let answer = format!(
                "The order is valid. Walking it from left to right, every task's prerequisites are already placed \
when it appears, so all {} dependencies are respected.",
                edges.len()
            );
            let rubric = vec![
                criterion("states that the proposed order is valid", &["is valid"]),
                criterion("confirms that every dependency has its prerequisite placed earlier", &[]),
            ];
            (answer, rubric, "No task has a missing prerequisite → valid.".to_string(), "valid".to_string())
        }
    };
    Ok(free_form(
        prompt,
        answer,
        [
            step(format!("Prerequisites: {}.", pre_text.join("; ")), format!("{} dependencies", edges.len())),
            step(
                format!(
                    "Order with positions: {}.",
                    order.iter().enumerate().map(|(i, c)| format!("{}={c}", i + 1)).collect::<Vec<_>>().join(", ")
                ),
                join(&order, ", "),
            ),
            step(
                format!("{}.", walk.join("; ")),
                match viol {
                    Some((x, _)) => format!("stop at {x}"),
                    None => "all placed in time".to_string(),
                },
            ),
            step(verdict_step, if viol.is_some() { "invalid" } else { "valid" }.to_string()),
            step(
                match viol {
                    Some((x, p)) => format!(
                        "Invalid: {p} -> {x} is violated ({x} at position {}, {p} at position {}).",
                        pos(x),
                        pos(p)
                    ),
                    None => "Valid: every dependency is respected.".to_string(),
                },
                final_value,
            ),
        ],
        rubric,
    ))
}

// ---------------------------------------------------------------- sorting, arithmetic algorithms

/// One bubble-sort pass over `xs[..end]`; returns the compare/swap log and the swap count.
fn bubble_pass(xs: &mut [i64], end: usize) -> (Vec<String>, usize) {
    let mut log = Vec::new();
    let mut swaps = 0;
    for j in 0..end.saturating_sub(1) {
        if xs[j] > xs[j + 1] {
            log.push(format!("{}>{} swap", xs[j], xs[j + 1]));
            xs.swap(j, j + 1);
            swaps += 1;
        } else {
            log.push(format!("{}≤{} keep", xs[j], xs[j + 1]));
        }
    }
    (log, swaps)
}

params! {
    /// Parameters of `bubble_sort_passes`.
    struct BubbleSortPassesParams {
        /// Shortest list (at least 3).
        min_len: i64 = 5,
        /// Longest list (at least 3).
        max_len: i64 = 8,
        /// Largest value in the list (at least the list length).
        max_value: i64 = 60,
    }
}

/// The list after a given number of bubble-sort passes.
fn bubble_sort_passes(g: &mut Gen, p: &BubbleSortPassesParams) -> Result<Generated> {
    let n = g.range(p.min_len.max(3), p.max_len.max(3)) as usize;
    let hi = p.max_value.max(n as i64);
    let mut xs: Vec<i64> = (0..n).map(|_| g.range(1, hi)).collect();
    if g.chance(0.3) {
        let i = g.range(0, n as i64 - 2) as usize;
        xs[i + 1] = xs[i];
    }
    let k = g.range(1, (n as i64 - 2).min(3)) as usize;
    let start = xs.clone();
    let mut cur = xs.clone();
    let mut logs = Vec::new();
    for p in 0..k {
        let (log, swaps) = bubble_pass(&mut cur, n - p);
        logs.push((log, swaps, cur.clone()));
    }
    let answer = join(&cur, ", ");
    let prompt = format!(
        "Bubble sort (ascending) is applied to the list [{}]. One pass walks from the left end, comparing each \
pair of neighbours and swapping them when the left number is strictly greater (equal numbers are not swapped). \
After pass 1 the largest number is at the end, so pass 2 stops one comparison earlier, pass 3 one earlier again, \
and so on. What does the list look like after exactly {k} pass{}? Answer with the numbers comma-separated.",
        join(&start, ", "),
        if k == 1 { "" } else { "es" }
    );
    let pass_text = |i: usize| {
        let (log, swaps, after) = &logs[i];
        format!("pass {}: {} ({swaps} swaps) → [{}]", i + 1, log.join(", "), join(after, ", "))
    };
    let later: Vec<String> = (1..k).map(pass_text).collect();
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                format!(
                    "Start [{}]; pass 1 compares positions 1–2 up to {}–{} ({} comparisons).",
                    join(&start, ", "),
                    n - 1,
                    n,
                    n - 1
                ),
                format!("{} comparisons", n - 1),
            ),
            step(format!("{}.", pass_text(0)), format!("[{}]", join(&logs[0].2, ", "))),
            step(
                format!("{} is now fixed at the end; the next pass makes {} comparisons.", logs[0].2[n - 1], n - 2),
                format!("{} fixed", logs[0].2[n - 1]),
            ),
            step(
                if later.is_empty() {
                    "Only 1 pass was asked for.".to_string()
                } else {
                    format!("{}.", later.join("; "))
                },
                format!("{k} passes done"),
            ),
            step(format!("After pass {k}: {answer}."), answer),
        ],
    ))
}

/// Euclid's algorithm: the list of (a, b, q, r) division steps.
fn euclid(x: u64, y: u64) -> Vec<(u64, u64, u64, u64)> {
    let (mut a, mut b) = (x.max(y), x.min(y));
    let mut out = Vec::new();
    while b > 0 {
        out.push((a, b, a / b, a % b));
        let r = a % b;
        a = b;
        b = r;
    }
    out
}

/// The gcd and number of divisions of the Euclidean algorithm.
fn euclid_gcd_steps(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let (x, y) = loop {
        let (a, b) = if g.chance(0.3) {
            // Consecutive Fibonacci numbers (times a factor) give long runs.
            let mut f = (1u64, 2u64);
            for _ in 0..g.range(5, 11) {
                f = (f.1, f.0 + f.1);
            }
            let k = g.range(1, 6) as u64;
            (f.1 * k, f.0 * k)
        } else {
            let d = g.range(1, 30) as u64;
            let a = g.range(4, 150) as u64;
            let b = g.range(2, a as i64 - 1) as u64;
            (a * d, b * d)
        };
        if a != b && b > 0 && a <= 20000 {
            break (a, b);
        }
    };
    let (x, y) = if g.chance(0.4) { (y, x) } else { (x, y) };
    let steps = euclid(x, y);
    let gcd = steps.last().map(|s| s.1).unwrap_or(x);
    let cnt = steps.len();
    let answer = format!("{gcd}, {cnt}");
    let prompt = format!(
        "Apply the Euclidean algorithm to {x} and {y}: divide the larger number by the smaller, then keep dividing \
the last divisor by the last remainder until a remainder is 0. Report the greatest common divisor and the number of \
divisions performed (count every division, including the last one that leaves remainder 0). Answer as two numbers, \
comma-separated: the gcd first, then the number of divisions."
    );
    let line = |s: &(u64, u64, u64, u64)| format!("{} = {}×{} + {}", s.0, s.2, s.1, s.3);
    let (a0, b0) = (x.max(y), x.min(y));
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                if x < y { format!("{x} < {y}, so a = {a0}, b = {b0}.") } else { format!("a = {a0}, b = {b0}.") },
                format!("a={a0}, b={b0}"),
            ),
            step(format!("Division 1: {}.", line(&steps[0])), format!("r = {}", steps[0].3)),
            step(
                if steps[0].3 == 0 {
                    "Remainder 0: stop.".to_string()
                } else {
                    format!("a = {}, b = {}.", steps[0].1, steps[0].3)
                },
                format!("a={}, b={}", steps[0].1, steps[0].3),
            ),
            step(
                if cnt > 1 {
                    steps[1..]
                        .iter()
                        .enumerate()
                        .map(|(i, s)| format!("Division {}: {}", i + 2, line(s)))
                        .collect::<Vec<_>>()
                        .join("; ")
                } else {
                    "The first division already left remainder 0.".to_string()
                },
                format!("{cnt} divisions"),
            ),
            step(format!("Last nonzero divisor: {gcd}; divisions: {cnt}."), answer),
        ],
    ))
}

/// One operator application: (operator, left operand a, right operand b, result).
type OpStep = (char, i64, i64, i64);

/// A reverse-Polish token.
#[derive(Clone, Copy)]
enum Tok {
    Num(i64),
    Op(char),
}

fn apply(op: char, a: i64, b: i64) -> i64 {
    match op {
        '+' => a + b,
        '-' => a - b,
        '*' => a * b,
        _ => a / b, // Rust's `/` truncates toward zero, as the task states.
    }
}

/// Evaluate an integer RPN expression; returns the value and each operator's (op, a, b, result).
fn rpn(tokens: &[Tok]) -> Option<(i64, Vec<OpStep>)> {
    let mut st: Vec<i64> = Vec::new();
    let mut log = Vec::new();
    for t in tokens {
        match *t {
            Tok::Num(v) => st.push(v),
            Tok::Op(op) => {
                let b = st.pop()?;
                let a = st.pop()?;
                if op == '/' && b == 0 {
                    return None;
                }
                let r = apply(op, a, b);
                log.push((op, a, b, r));
                st.push(r);
            }
        }
    }
    if st.len() == 1 { Some((st[0], log)) } else { None }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Num(v) => v.to_string(),
        Tok::Op(c) => c.to_string(),
    }
}

params! {
    /// Parameters of `rpn_evaluate`.
    struct RpnEvaluateParams {
        /// Fewest operators (at least 1).
        min_ops: i64 = 3,
        /// Most operators (at least 1).
        max_ops: i64 = 5,
    }
}

/// Evaluate a reverse-Polish expression with operand order and truncating division.
fn rpn_evaluate(g: &mut Gen, p: &RpnEvaluateParams) -> Result<Generated> {
    let k = g.range(p.min_ops.max(1), p.max_ops.max(1)) as usize;
    let mut toks: Vec<Tok> = Vec::new();
    let mut st: Vec<i64> = Vec::new();
    let (mut nums, mut ops) = (k + 1, k);
    while nums > 0 || ops > 0 {
        if st.len() >= 2 && ops > 0 && (nums == 0 || g.chance(0.45)) {
            let b = st.pop().unwrap_or(1);
            let a = st.pop().unwrap_or(1);
            let mut op = *g.pick(&['+', '-', '*', '/', '-', '/']);
            if op == '/' && b == 0 || op == '*' && (a * b).abs() > 300 {
                op = *g.pick(&['+', '-']);
            }
            let r = apply(op, a, b);
            toks.push(Tok::Op(op));
            st.push(r);
            ops -= 1;
        } else {
            let v = g.range(1, 15);
            toks.push(Tok::Num(v));
            st.push(v);
            nums -= 1;
        }
    }
    let (value, log) = rpn(&toks).ok_or_else(|| g.param_error("max_ops", "generated an invalid expression"))?;
    let expr = join(&toks.iter().map(tok_text).collect::<Vec<_>>(), " ");
    let prompt = format!(
        "Evaluate this expression written in reverse Polish notation (postfix), using a stack:\n\n{expr}\n\nEach \
number is pushed onto the stack. Each operator pops two values and pushes the result; the operator is applied as \
(second value popped) op (first value popped). The operators are + (add), - (subtract), * (multiply) and / \
(integer division that drops the fractional part, i.e. rounds toward zero, so 7 / 2 = 3 and -7 / 2 = -3). Answer \
with the final value."
    );
    let numbers: Vec<String> =
        toks.iter().filter_map(|t| if let Tok::Num(v) = t { Some(v.to_string()) } else { None }).collect();
    let pops: Vec<String> = log.iter().map(|(op, a, b, _)| format!("{op}: b={b}, a={a}")).collect();
    let comps: Vec<String> = log.iter().map(|(op, a, b, r)| format!("{a} {op} {b} = {r}")).collect();
    Ok(exact(
        prompt,
        value.to_string(),
        [
            step(format!("Tokens: {expr} ({} numbers, {k} operators).", k + 1), format!("{} tokens", toks.len())),
            step(format!("Numbers pushed in order: {}.", numbers.join(", ")), numbers.join(", ")),
            step(format!("Pops at each operator: {}.", pops.join("; ")), format!("{k} operators")),
            step(
                format!("Results pushed: {}.", comps.join("; ")),
                join(&log.iter().map(|l| l.3).collect::<Vec<_>>(), ", "),
            ),
            step(format!("One value left on the stack: {value}."), value.to_string()),
        ],
    ))
}

/// Merge closed integer intervals; touching intervals merge.
fn merge(mut iv: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    iv.sort();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (s, e) in iv {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

params! {
    /// Parameters of `merge_intervals`.
    struct MergeIntervalsParams {
        /// Fewest intervals (at least 2).
        min_intervals: i64 = 5,
        /// Most intervals (at least 2).
        max_intervals: i64 = 8,
        /// Largest interval start (at least 10).
        max_start: i64 = 60,
    }
}

/// Merge a list of overlapping / touching intervals.
fn merge_intervals(g: &mut Gen, p: &MergeIntervalsParams) -> Result<Generated> {
    let n = g.range(p.min_intervals.max(2), p.max_intervals.max(2)) as usize;
    let span = p.max_start.max(10);
    let mut iv: Vec<(i64, i64)> = Vec::new();
    for _ in 0..n {
        let s = g.range(0, span);
        let len = g.range(0, 12);
        iv.push((s, s + len));
    }
    if g.chance(0.6) {
        // An interval starting exactly where another ends (touching).
        let i = g.range(0, n as i64 - 1) as usize;
        let j = (i + 1) % n;
        let e = iv[i].1;
        iv[j] = (e, e + g.range(1, 8));
    }
    if g.chance(0.4) {
        // One interval inside another.
        let i = g.range(0, n as i64 - 1) as usize;
        let j = (i + 2) % n;
        let (s, e) = iv[i];
        if e - s >= 2 {
            let a = g.range(s, e - 1);
            iv[j] = (a, g.range(a, e));
        }
    }
    let merged = merge(iv.clone());
    let fmt = |v: &[(i64, i64)]| v.iter().map(|(s, e)| format!("[{s}, {e}]")).collect::<Vec<_>>().join(", ");
    let answer = merged.iter().map(|(s, e)| format!("{s}-{e}")).collect::<Vec<_>>().join(", ");
    let prompt = format!(
        "Merge these closed intervals of whole numbers:\n{}\n\nTwo intervals merge when they overlap or touch at an \
endpoint: [1, 4] and [4, 6] become [1, 6], but [1, 4] and [5, 6] stay separate. Answer with the merged intervals \
sorted by start, each written start-end, comma-separated (for example: 1-6, 9-12).",
        fmt(&iv)
    );
    let mut sorted = iv.clone();
    sorted.sort();
    // Trace the sweep.
    let mut trace = Vec::new();
    let mut cur = sorted[0];
    for &(s, e) in &sorted[1..] {
        if s <= cur.1 {
            let ne = cur.1.max(e);
            trace.push(format!("[{s}, {e}]: {s} ≤ {} → [{}, {ne}]", cur.1, cur.0));
            cur.1 = ne;
        } else {
            trace.push(format!("[{s}, {e}]: {s} > {} → close [{}, {}], start [{s}, {e}]", cur.1, cur.0, cur.1));
            cur = (s, e);
        }
    }
    let extended = trace.iter().filter(|t| t.contains('≤')).count();
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(format!("Sorted: {}.", fmt(&sorted)), fmt(&sorted)),
            step(
                format!("Current block: [{}, {}].", sorted[0].0, sorted[0].1),
                format!("[{}, {}]", sorted[0].0, sorted[0].1),
            ),
            step(format!("{}.", trace.join("; ")), format!("{extended} merges")),
            step(format!("Closed blocks: {}.", fmt(&merged)), format!("{} blocks", merged.len())),
            step(format!("Merged: {answer}."), answer),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces() {
        let xs = [2, 5, 8, 12, 16, 23, 38, 56, 72, 91];
        let (p, found) = binary_search(&xs, 23);
        assert!(found);
        assert_eq!(p.iter().map(|x| x.3).collect::<Vec<_>>(), vec![16, 56, 23]);
        let (p, found) = binary_search(&xs, 1);
        assert!(!found);
        assert_eq!(p.iter().map(|x| x.3).collect::<Vec<_>>(), vec![16, 5, 2]);
        assert_eq!(to_base(255, 16), "FF");
        assert_eq!(to_base(100, 3), "10201");
        let e = euclid(462, 1071);
        assert_eq!((e.last().unwrap().1, e.len()), (21, 3));
        assert_eq!(merge(vec![(5, 8), (1, 3), (3, 4), (10, 12), (6, 7)]), vec![(1, 4), (5, 8), (10, 12)]);
        let toks = [Tok::Num(9), Tok::Num(2), Tok::Num(7), Tok::Op('-'), Tok::Op('/'), Tok::Num(3), Tok::Op('*')];
        assert_eq!(rpn(&toks).unwrap().0, -3); // 9 / (2 - 7) = -1.8 → -1 (toward zero), × 3
        let mut xs = vec![5, 1, 4, 2, 8];
        bubble_pass(&mut xs, 5);
        assert_eq!(xs, vec![1, 4, 2, 5, 8]);
    }

    #[test]
    fn graphs() {
        // Two shortest paths A-B-D and A-C-D: BFS with sorted neighbours takes A, B, D.
        let mut adj: BTreeMap<char, BTreeSet<char>> = BTreeMap::new();
        for (a, b) in [('A', 'C'), ('A', 'B'), ('C', 'D'), ('B', 'D'), ('D', 'E')] {
            adj.entry(a).or_default().insert(b);
            adj.entry(b).or_default().insert(a);
        }
        let (_, parent) = bfs(&adj, 'A', 'E');
        assert_eq!(path_to(&parent, 'A', 'E'), vec!['A', 'B', 'D', 'E']);
        let edges = [('A', 'B'), ('C', 'B'), ('B', 'D')];
        assert_eq!(first_violation(&['A', 'B', 'C', 'D'], &edges), Some(('B', 'C')));
        assert_eq!(first_violation(&['C', 'A', 'B', 'D'], &edges), None);
    }
}
