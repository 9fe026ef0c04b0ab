"""Benchmark configs: every shipped profile loads; every mistake is one line naming the key."""

from __future__ import annotations

import pytest

from eval.config import ConfigError, load_config, profiles


def write(tmp_path, text: str):
    path = tmp_path / "my.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["tiny", "demo", "full"])
def test_shipped_profiles_load(name):
    assert name in profiles()
    config = load_config(name)
    assert config.name == name and config.conditions[0] == "none"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nfolds: 3\n", "my.yaml: folds: unknown key"),
        ("name: x\nprotocol: {folds: many}\n", "my.yaml: protocol.folds: Input should be a valid integer"),
        ("name: x\nprotocol: {folds: 1}\n", "my.yaml: protocol.folds: Input should be greater than or equal to 2"),
        ("name: x\nconditions: [none, magic]\n", "my.yaml: conditions.1: Input should be"),
        ("name: x\nclassifiers: [svm]\n", "unknown classifier(s) ['svm']"),
        (
            "name: x\ngenerator: {sft: {learning_rat: 0.1}}\n",
            "my.yaml: generator.sft.learning_rat: unknown key (did you mean learning_rate",
        ),
        ("name: x\ngenerator: {dpo: {beta: high}}\n", "my.yaml: generator.dpo.beta: Input should be a valid number"),
        ("name: x\ngenerator: {sft: {output_dir: /tmp/x}}\n", "generator.sft.output_dir: set by the benchmark"),
        (
            "name: x\ngenerator: {pairs: {max_pairs_per_strategy: lots}}\n",
            "my.yaml: generator.pairs.max_pairs_per_strategy: Input should be a valid integer",
        ),
        (
            "name: x\ngenerator: {pairs: {strategies: {ad: [real]}}}\n",
            "my.yaml: generator.pairs: strategies names none for style(s) ['hc']",
        ),
        (
            "name: x\nfilters: {privacy_ngrams: 8}\n",
            "my.yaml: filters.privacy_ngrams: unknown key (did you mean privacy_ngram",
        ),
        ("name: x\nfilters: {min_words: 0}\n", "my.yaml: filters.min_words: Input should be greater than 0"),
        ("name: x\nfilters: {min_words: 50, max_words: 20}\n", "my.yaml: filters: need min_words <= max_words"),
        (
            "name: x\ngeneration: {max_tokens: 64, min_tokens: 96}\n",
            "my.yaml: generation: min_tokens (96) must not exceed max_tokens (64)",
        ),
        ("name: x\nfilters: {require: [length, vibes]}\n", "my.yaml: filters.require.1: Input should be"),
        ("name: x\nclassic: {intensity: 7}\n", "my.yaml: classic.intensity: Input should be less than or equal to 1"),
        (
            "name: x\nclassifiers: [tfidf]\nclassifier_options: {bert: {epochs: 1}}\n",
            "classifier_options.bert: not among the classifiers",
        ),
        (
            "name: x\nclassifiers: [tfidf]\nclassifier_options: {tfidf: {ngram: 2}}\n",
            "my.yaml: classifier_options.tfidf.ngram: unknown key",
        ),
        (
            "name: x\nclassifiers: [tfidf]\nclassifier_options: {tfidf: {C: high}}\n",
            "my.yaml: classifier_options.tfidf: The 'C' parameter of TfidfDetector must be a float",
        ),
        (
            "name: x\nclassifiers: [bert]\nclassifier_options: {bert: {long_text: drop}}\n",
            "my.yaml: classifier_options.bert: The 'long_text' parameter of BertDetector must be a str among",
        ),
        ("name: x\nprotocol: {folds: 3\n", "my.yaml:3: not valid YAML"),
        ("- a list\n", "expected a mapping"),
        ("name: x\nexecutor: {kind: spark}\n", "my.yaml: executor.kind: Input should be 'local' or 'ray'"),
        ("name: x\nexecutor: {address: auto}\n", "my.yaml: executor: an address is a Ray cluster's: set kind: ray"),
        (
            "name: x\nexecutor: {generation_workers: 2}\n",
            "my.yaml: executor: generation_workers are Ray tasks: set kind: ray",
        ),
        (
            "name: x\nexecutor: {kind: ray, cell: {num_gpus: -1}}\n",
            "my.yaml: executor.cell.num_gpus: Input should be greater than or equal to 0",
        ),
    ],
)
def test_mistakes_are_one_line_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_file_lists_the_profiles():
    with pytest.raises(ConfigError, match=r"no such config file or profile.*demo"):
        load_config("no-such-profile")


def test_overrides_replace_top_level_keys(tmp_path):
    config = load_config(write(tmp_path, "name: x\nclassifiers: [tfidf]\n"), corpus=str(tmp_path), output_dir=None)
    assert str(config.corpus) == str(tmp_path) and config.output_dir is None
    assert config.run_dir().as_posix() == "runs/x"


def test_the_executor_is_not_part_of_the_digest(tmp_path):
    """A benchmark started on one executor resumes on the other: same digest, same scores file."""
    local = load_config(write(tmp_path, "name: x\nclassifiers: [tfidf]\n"))
    on_ray = load_config(write(tmp_path, "name: x\nclassifiers: [tfidf]\nexecutor: {kind: ray, address: auto}\n"))
    assert on_ray.executor.kind == "ray" and on_ray.digest() == local.digest()
    assert load_config(write(tmp_path, "name: x\nclassifiers: [majority]\n")).digest() != local.digest()


def test_sections_are_the_library_configs_and_take_their_defaults(tmp_path):
    """Each default is written once: a section left out is its library class's default."""
    import dataclasses

    from augment.classic import ClassicConfig
    from augment.filters import FilterConfig
    from augment.generation_config import SamplingOptions
    from augment.pair_config import PairConfig
    from augment.prompt_only import PromptOnlyConfig
    from augment.runner import Backend
    from augment.stages import CookieDPOConfig, CookieSFTConfig

    config = load_config(write(tmp_path, "name: x\nclassifiers: [tfidf]\n"))
    g = config.generator
    assert isinstance(g.sft, CookieSFTConfig) and g.sft.learning_rate == CookieSFTConfig().learning_rate
    assert isinstance(g.dpo, CookieDPOConfig) and g.dpo.beta == CookieDPOConfig().beta
    assert g.pairs == PairConfig() and config.filters == FilterConfig() and config.classic == ClassicConfig()
    # generation: SamplingOptions' own fields and defaults, the runner's, the prompt-only baseline's
    assert isinstance(config.generation, SamplingOptions)
    for f in dataclasses.fields(SamplingOptions):
        assert getattr(config.generation, f.name) == getattr(SamplingOptions(), f.name), f.name
    assert config.generation.concurrency == Backend().concurrency
    assert config.generation.few_shot == PromptOnlyConfig().shots
    # the benchmark's own sampling defaults lie under what a YAML sets
    assert (g.sampling.n, g.sampling.base) == (8, False)
    mine = load_config(write(tmp_path, "name: x\nclassifiers: [tfidf]\ngenerator: {sampling: {n: 3}}\n"))
    assert (mine.generator.sampling.n, mine.generator.sampling.base) == (3, False)


def test_classic_is_seeded_by_the_protocol(tmp_path):
    with pytest.raises(ConfigError, match=r"classic\.seed: classic augmentation is seeded with protocol\.seed"):
        load_config(write(tmp_path, "name: x\nclassifiers: [tfidf]\nclassic: {seed: 3}\n"))


def test_the_dump_and_the_digest_hold_what_the_yaml_changed(tmp_path):
    """config.json and MLflow's params show a library section as the fields it changes (TRL's configs have
    over a hundred); writing a default out does not change the digest."""
    plain = load_config(write(tmp_path, "name: x\nclassifiers: [tfidf]\ngenerator: {sft: {max_steps: 3}}\n"))
    dump = plain.as_dict()
    assert dump["generator"]["sft"] == {"max_steps": 3} and dump["generator"]["dpo"] == {} and dump["filters"] == {}
    spelled = load_config(
        write(tmp_path, "name: x\nclassifiers: [tfidf]\ngenerator: {sft: {max_steps: 3, max_length: 320}}\n")
    )
    assert spelled.digest() == plain.digest()
    other = load_config(write(tmp_path, "name: x\nclassifiers: [tfidf]\ngenerator: {sft: {max_steps: 4}}\n"))
    assert other.digest() != plain.digest()


def test_overrides_go_into_a_section_key_by_key(tmp_path):
    """`benchmark --executor local` over a YAML's ray executor: the flag's key, the YAML's others."""
    path = write(tmp_path, "name: x\nclassifiers: [tfidf]\nexecutor: {kind: ray, max_retries: 5}\n")
    config = load_config(path, executor={"kind": "local", "address": None})
    assert config.executor.kind == "local" and config.executor.max_retries == 5
    assert load_config(path, executor={"kind": None}).executor.kind == "ray"  # not given: the YAML's
