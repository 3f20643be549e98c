# Which job runner each kind of job uses (Kaldi's cmd.sh contract), per backend. A recipe's
# own cmd.sh sets cmd_backend (local, slurm or sge: one line to switch) and sources this
# file; it may override any of the three variables after that.
#   train_cmd:  data preparation, simulation, labels, a system's preparatory commands
#   cuda_cmd:   training (se.sh adds --gpu N; run.pl ignores it, slurm.pl asks for --gres=gpu:N)
#   decode_cmd: enhancement and scoring shards
# Runner options map to scheduler flags through conf/slurm.conf or conf/queue.conf (the
# recipe's own when it has one, else the toolkit's).
cmd_backend=${cmd_backend:-local}

case "${cmd_backend}" in
  local)   # this machine: sharded jobs one thread each, training with every core
    export train_cmd="run.pl"
    export cuda_cmd="run.pl --num-threads $(nproc 2>/dev/null || echo 1)"
    export decode_cmd="run.pl" ;;
  slurm)
    export train_cmd="slurm.pl --mem 8G --num-threads 2"
    export cuda_cmd="slurm.pl --mem 16G --num-threads 4 --time 24:00:00"
    export decode_cmd="slurm.pl --mem 4G" ;;
  sge)
    export train_cmd="queue.pl --mem 8G"
    export cuda_cmd="queue.pl --mem 16G --num-threads 4"
    export decode_cmd="queue.pl --mem 4G" ;;
  *) echo "cmd.sh: unknown cmd_backend '${cmd_backend}' (local, slurm, sge)" >&2; return 1 ;;
esac
