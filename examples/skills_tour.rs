//! A tour of the skills bench: one task per domain, with its procedure, the offline
//! teacher's chain of thought and the judge's verdict. With an argument, every skill whose
//! id contains it instead (`skills_tour date-` shows all date skills): the way to read a
//! generator's output while writing one.
//!
//! ```text
//! cargo run --example skills_tour
//! cargo run --example skills_tour -- sci-
//! ```

use std::collections::BTreeSet;

use skillsft_data::catalog::Catalog;
use skillsft_data::generators::{generate, task_seed};
use skillsft_data::judge::Judge;
use skillsft_data::prompt::{Condition, user_prompt};
use skillsft_data::teacher::offline;

fn main() -> Result<(), skillsft_data::DataError> {
    let catalog = Catalog::builtin()?;
    let filter = std::env::args().nth(1);
    let mut seen = BTreeSet::new();
    for skill in catalog.skills() {
        let first_of_domain = seen.insert(skill.domain.clone());
        let shown = match &filter {
            Some(f) => skill.id.contains(f.as_str()),
            None => first_of_domain,
        };
        if !shown {
            continue;
        }
        let task = generate(skill, task_seed(0, &skill.id, 0))?;
        let reply = offline::reply(skill, &task, 0);
        let verdict = Judge::Offline.judge(skill, &task, &reply.content)?;
        println!("==================== {} ({}, {:?})", skill.id, skill.domain, skill.split);
        println!("{}\n", user_prompt(skill, &task, Condition::Curated));
        let verdict = match verdict.pass {
            Some(true) => "pass",
            Some(false) => "fail",
            None => "unscorable",
        };
        println!("--- reasoning\n{}\n--- answer\n{}\n--- verdict: {verdict}\n", reply.reasoning, reply.content);
    }
    println!("{} skills in {} domains", catalog.skills().len(), seen.len());
    Ok(())
}
