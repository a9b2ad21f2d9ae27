"""Publishing the warehouse for readers: the serving file and its Parquet exports."""
