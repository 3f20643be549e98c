# Job runners of this recipe: local (this machine), slurm or sge. Switching is this one line;
# the runners and their options per backend are in egs/TEMPLATE/se1/cmd.sh (override any of
# train_cmd, cuda_cmd, decode_cmd below the `.` line to adapt them to this recipe).
cmd_backend=local
. "$(dirname "$(readlink -f ./se.sh)")/cmd.sh"
