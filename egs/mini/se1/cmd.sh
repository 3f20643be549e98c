# Which runner each kind of job uses (Kaldi's cmd.sh contract).
# train_cmd: simulation, labelling, training; decode_cmd: enhancement and scoring shards.

# Local machine (default): jobs run here, --nj at a time.
export train_cmd="run.pl"
export decode_cmd="run.pl"

# Slurm: options map to sbatch flags through conf/slurm.conf (the toolkit's, or a copy in
# this recipe's conf/ to adapt to your cluster). Uncomment both lines:
# export train_cmd="slurm.pl --config conf/slurm.conf --mem 8G --num-threads 2"
# export decode_cmd="slurm.pl --config conf/slurm.conf --mem 4G"

# SGE (qsub): the same through conf/queue.conf.
# export train_cmd="queue.pl --config conf/queue.conf --mem 8G"
# export decode_cmd="queue.pl --config conf/queue.conf --mem 4G"
