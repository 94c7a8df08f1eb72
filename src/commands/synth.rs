use anyhow::{anyhow, bail};

use crate::cli::{SynthArgs, WaveArgs};
use crate::comtrade::WriteOptions;
use crate::comtrade::synth::{
    Disturbance, DisturbanceKind, SynthError, SynthField, SynthSpec, generate,
};

/// The synthesis spec the wave options describe.
pub fn spec(args: &WaveArgs) -> anyhow::Result<SynthSpec> {
    let mut disturbances = Vec::new();
    let kinds = [
        (DisturbanceKind::Sag, &args.sag, "--sag"),
        (DisturbanceKind::Swell, &args.swell, "--swell"),
        (
            DisturbanceKind::Interruption,
            &args.interruption,
            "--interruption",
        ),
    ];
    for (kind, specs, flag) in kinds {
        for text in specs {
            disturbances
                .push(Disturbance::parse(kind, text).map_err(|e| anyhow!("{flag} '{text}': {e}"))?);
        }
    }
    Ok(SynthSpec {
        frequency: args.freq,
        voltage: args.voltage,
        current: args.current,
        power_factor: args.pf,
        harmonics: args
            .harmonics
            .parse()
            .map_err(|e| anyhow!("--harmonics: {e}"))?,
        unbalance: args.unbalance,
        disturbances,
        noise: args.noise,
        seed: args.seed,
        duration: args.duration,
        samples_per_cycle: args.spc,
        ..SynthSpec::default()
    })
}

/// The library's refusal with the flag that set what it refused.
pub fn with_flag(error: SynthError) -> anyhow::Error {
    let flag = match error.field {
        SynthField::Frequency => "--freq",
        SynthField::Duration => "--duration",
        SynthField::Voltage => "--voltage",
        SynthField::Current => "--current",
        SynthField::PowerFactor => "--pf",
        SynthField::SamplesPerCycle => "--spc",
        SynthField::Unbalance => "--unbalance",
        SynthField::Noise => "--noise",
        SynthField::Harmonics => "--harmonics",
        // No flag sets them apart from the voltages'.
        SynthField::CurrentHarmonics => return anyhow!(error),
        SynthField::Disturbance(DisturbanceKind::Sag) => "--sag",
        SynthField::Disturbance(DisturbanceKind::Swell) => "--swell",
        SynthField::Disturbance(DisturbanceKind::Interruption) => "--interruption",
    };
    anyhow!("{flag}: {}", error.problem)
}

pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let single_file = match super::extension(&args.out).as_deref() {
        Some("cff") => true,
        Some("cfg") => false,
        _ => bail!("{}: --out must end in .cfg or .cff", args.out.display()),
    };
    let options = WriteOptions {
        revision: super::revision(args.rev),
        data_type: super::data_type(args.format),
        single_file,
    };
    options.check().map_err(super::capture_with_flag)?;
    let capture =
        generate(&spec(&args.wave)?, options.revision, options.data_type).map_err(with_flag)?;
    super::write(&capture, &args.out, options)
}
