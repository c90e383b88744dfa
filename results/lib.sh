# Sourced by the run_*.sh batches: run NAME MODULE ARGS... trains (resumably) and collects into results/NAME.
D="--data_dir=../shared/data --config.show_progress=false"
run() { name=$1; shift; echo "== $name: $*"; /usr/bin/time -a -o results/wall_times.log -f "$name wall %e s" python -m "$@" $D && bash results/collect.sh "runs/$name" "$name"; }
