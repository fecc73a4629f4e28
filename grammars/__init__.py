"""The Lark grammars of tracemem, installed as the ``tracemem.grammars`` package."""
